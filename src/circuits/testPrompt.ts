/**
 * TransformerLens's `test_prompt`: how the model ranks an answer after a prompt — the rank,
 * logit and probability of each answer token, and the top-k table at each answer position.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, TokenError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';

/** Options of {@link testPrompt}. */
export interface TestPromptOptions {
  /** Put a space before each answer that lacks one (GPT-2 style words). Default true, as TL. */
  prependSpaceToAnswer?: boolean;
  /** Prepend BOS to the prompt; default `cfg.defaultPrependBos`. */
  prependBos?: boolean;
  /** Rows of the top-k table per position. Default 10. */
  topK?: number;
  /** Print the tokenization, the answer's rank and the top-k table as TransformerLens does. Default false. */
  printDetails?: boolean;
  /** Where printed lines go; default `console.log`. */
  print?: (line: string) => void;
}

/** One token's standing at one position. */
export interface RankedToken {
  /** The token as text. */
  token: string;
  /** The token's id. */
  id: number;
  /** 0 = the model's top prediction. */
  rank: number;
  /** Its logit at this position. */
  logit: number;
  /** Its probability (softmax of the logits) at this position. */
  prob: number;
}

/** One answer position: how each answer's token there ranks, and the top-k predictions (first answer's row). */
export interface TestPromptPosition {
  /** Each answer's token at this position (one per answer). */
  answers: RankedToken[];
  /** The top-k predictions, for the first answer's row (as TL). */
  top: RankedToken[];
}

/** What {@link testPrompt} found. */
export interface TestPromptResult {
  /** The prompt's tokens as text (BOS included when prepended). */
  promptTokens: string[];
  /** Each answer's tokens as text (after the space was prepended). */
  answerTokens: string[][];
  /** One entry per answer token (only the first with several answers, as TL). */
  positions: TestPromptPosition[];
}

const OPTION_KEYS = ['prependSpaceToAnswer', 'prependBos', 'topK', 'printDetails', 'print'];

/**
 * Runs `prompt` followed by `answer` and reports, for each answer token, its rank (0 = top),
 * logit and probability as the prediction after the tokens before it, with the top-k
 * predictions there. Several answers are compared on their first token only (as TL).
 * The prompt and a single answer may also be token ids, used as given (for a model without a
 * tokenizer, whose tokens are then shown by id, `#42`).
 * @param model the model to run.
 * @param prompt the prompt, as text (BOS prepended as `prependBos`) or token ids.
 * @param answer the expected continuation: text, several texts (compared on their first token), or
 *   one answer's token ids.
 * @param options see {@link TestPromptOptions}.
 * @throws InvalidArgumentError for an unknown option, an empty answer list or a bad topK;
 *   TokenError when a text does not tokenize.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const r = await testPrompt(model, 'cat dog tree sun cat dog tree', 'sun', { topK: 5 });
 * r.positions[0].answers[0].rank;   // 0: the model's top prediction
 * model.dispose();
 * ```
 */
export async function testPrompt(
  model: HookedTransformer,
  prompt: string | readonly number[],
  answer: string | readonly string[] | readonly number[],
  options: TestPromptOptions = {},
): Promise<TestPromptResult> {
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) {
      throw new InvalidArgumentError(
        `testPrompt: given unknown option '${k}', expected one of ${OPTION_KEYS.join(', ')}.`,
      );
    }
  }
  const topK = options.topK ?? 10;
  if (!Number.isInteger(topK) || topK < 0) {
    throw new InvalidArgumentError(`testPrompt: given topK ${topK}, expected a non-negative integer.`);
  }
  const isIds = (x: unknown): x is readonly number[] =>
    Array.isArray(x) && x.length > 0 && x.every((v) => typeof v === 'number');
  if (typeof prompt !== 'string' && !isIds(prompt))
    throw new InvalidArgumentError(
      'testPrompt: given a prompt that is neither text nor token ids, expected one.',
    );
  const print = options.print ?? ((line: string) => console.log(line));
  const tokenize = async (text: string | string[], prependBos: boolean | undefined): Promise<number[][]> => {
    const t = model.toTokens(text, prependBos === undefined ? {} : { prependBos });
    try {
      return await t.array();
    } finally {
      t.dispose();
    }
  };
  // ids are checked by the forward pass; a model without a tokenizer shows them as `#id`
  const strTokens = (ids: number[]): string[] =>
    model.tokenizer ? model.toStrTokens(ids) : ids.map((id) => `#${id}`);
  const promptIds = isIds(prompt) ? [...prompt] : (await tokenize(prompt, options.prependBos))[0];
  let answerIds: number[][];
  let answerStr: string[][];
  if (isIds(answer)) {
    answerIds = [[...answer]];
    answerStr = [strTokens(answerIds[0])];
  } else {
    const raw = typeof answer === 'string' ? [answer] : [...answer];
    if (raw.length === 0 || raw.some((a) => typeof a !== 'string' || a.length === 0)) {
      throw new InvalidArgumentError(
        'testPrompt: given no answer (or an empty one), expected one or more non-empty strings or token ids.',
      );
    }
    const answers =
      options.prependSpaceToAnswer === false ? raw : raw.map((a) => (a.startsWith(' ') ? a : ` ${a}`));
    answerStr = answers.map((a) => model.toStrTokens(a, { prependBos: false }));
    answerIds = await Promise.all(answers.map(async (a) => (await tokenize(a, false))[0]));
  }
  const multiple = answerIds.length > 1;
  if (answerIds.some((ids) => ids.length === 0))
    throw new TokenError('testPrompt: an answer has no tokens; expected at least one.');
  const answerLength = multiple ? 1 : answerIds[0].length;
  const rows = answerIds.map((ids) => [...promptIds, ...ids.slice(0, answerLength)]);
  const promptStr = strTokens(promptIds);
  if (options.printDetails) {
    print(`Tokenized prompt: ${pyList(promptStr.map(pyStr))}`);
    print(`Tokenized answers: ${pyList(answerStr.map((a) => pyList(a.map(pyStr))))}`);
  }
  const logits = await model.forward(rows);
  const positions: TestPromptPosition[] = [];
  try {
    for (let i = 0; i < answerLength; i++) {
      const at = promptIds.length + i - 1; // the prediction of the token at promptIds.length + i
      const [lg, pr] = tf.tidy(() => {
        const row = logits.slice([0, at, 0], [-1, 1, -1]).squeeze([1]);
        return [row, tf.softmax(row)];
      });
      let lData: number[][];
      let pData: number[][];
      try {
        [lData, pData] = (await Promise.all([lg.array(), pr.array()])) as [number[][], number[][]];
      } finally {
        tf.dispose([lg, pr]);
      }
      const ranked = (b: number, id: number): RankedToken => ({
        token: model.tokenizer ? (model.toString([id]) as string) : `#${id}`,
        id,
        rank: rankOf(pData[b], id),
        logit: lData[b][id],
        prob: pData[b][id],
      });
      const answersHere = rows.map((r, b) => ({ ...ranked(b, r[at + 1]), token: answerStr[b][i] }));
      const order = pData[0].map((_, id) => id).sort((x, y) => pData[0][y] - pData[0][x] || x - y);
      const top = order.slice(0, topK).map((id, r) => ({ ...ranked(0, id), rank: r }));
      positions.push({ answers: answersHere, top });
      if (options.printDetails) {
        print(
          `Performance on answer token${multiple ? 's' : ''}:\n` +
            answersHere
              .map(
                (a) =>
                  `Rank: ${String(a.rank).padEnd(8)} Logit: ${fixed(a.logit, 5, 2)} Prob: ${percent(a.prob)} Token: |${a.token}|`,
              )
              .join('\n'),
        );
        top.forEach((t, r) =>
          print(
            `Top ${r}th token. Logit: ${fixed(t.logit, 5, 2)} Prob: ${percent(t.prob)} Token: |${t.token}|`,
          ),
        );
      }
    }
  } finally {
    logits.dispose();
  }
  if (options.printDetails) {
    const ranks = multiple
      ? pyList(positions.map((p) => pyList(p.answers.map((a) => `(${pyStr(a.token)}, ${a.rank})`))))
      : pyList(positions.map((p) => `(${pyStr(p.answers[0].token)}, ${p.answers[0].rank})`));
    print(`Ranks of the answer tokens: ${ranks}`);
  }
  return { promptTokens: promptStr, answerTokens: answerStr, positions };
}

/** Tokens strictly more probable than `id`, plus equally probable ones with a smaller id (a stable sort's rank). */
function rankOf(probs: readonly number[], id: number): number {
  const p = probs[id];
  let rank = 0;
  for (let j = 0; j < probs.length; j++) if (probs[j] > p || (probs[j] === p && j < id)) rank++;
  return rank;
}

/** Python's `{x:W.Pf}`: fixed point, right-aligned to width W. */
function fixed(x: number, width: number, places: number): string {
  return x.toFixed(places).padStart(width);
}

/** Python's `{x:6.2%}`. */
function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`.padStart(6);
}

/** Python's repr of a string (single quotes unless the text has one and no double quote). */
function pyStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(quote === "'" ? /'/g : /"/g, `\\${quote}`);
  return `${quote}${body}${quote}`;
}

function pyList(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}
