/**
 * The plain data an analysis produces: what the command line prints as text or JSON and what the
 * HTML reports draw. Both look down to this room, so neither depends on the other.
 */
/** A prompt as the model sees it. */
export interface PromptInfo {
  text: string;
  /** Whether it is the built-in repeated-sequence prompt. */
  builtin: boolean;
  /** Each token as text (BOS included when the model prepends one). */
  tokens: string[];
  ids: number[];
}

/** The token whose logit is attributed, and why it was chosen. */
export interface Answer {
  id: number;
  token: string;
  /** 'given' by --answer, predicted by the prompt's 'repeat', or the model's 'top' prediction. */
  source: 'given' | 'repeat' | 'top';
}

export interface Prediction {
  id: number;
  token: string;
  prob: number;
  logit: number;
}

export interface RunResult {
  model: string;
  prompt: PromptInfo;
  predictions: Prediction[];
}

export type DlaBy = 'heads' | 'layers' | 'neurons' | 'all';
export const DLA_BY: readonly DlaBy[] = ['heads', 'layers', 'neurons', 'all'];

export interface Attribution {
  label: string;
  value: number;
}

export interface DlaResult {
  model: string;
  prompt: PromptInfo;
  answer: Answer;
  by: DlaBy;
  /** How many components the stack has (rows holds the top ones). */
  components: number;
  /** The largest attributions, largest first. */
  rows: Attribution[];
}

export interface LensRow {
  /** Where in the residual stream: `0_pre`, `1_pre`, …, `final_post`. */
  label: string;
  /** 1 = the model's top token at that point. */
  rank: number;
  prob: number;
  logit: number;
}

export interface LensResult {
  model: string;
  prompt: PromptInfo;
  answer: Answer;
  rows: LensRow[];
}

export interface AttentionResult {
  model: string;
  prompt: PromptInfo;
  layer: number;
  head: number;
  /** pattern[query][key], rows sum to 1. */
  pattern: number[][];
  /** Mean attention from repeated tokens to the token after their earlier occurrence (null without repeats). */
  inductionScore: number | null;
}

export interface HeadScore {
  label: string;
  layer: number;
  head: number;
  score: number;
}
