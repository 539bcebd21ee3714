/**
 * The computations behind the commands, as small functions returning plain data: the text
 * tables, `--json` and the HTML reports all print the same objects (see `src/analysis/types.ts`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Lazy } from '../../graph/index.js';
import type { ActivationCache } from '../cache/ActivationCache.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import { TokenError, UsageError } from '../errors.js';
import {
  DLA_BY,
  type PromptInfo,
  type Answer,
  type Prediction,
  type RunResult,
  type DlaBy,
  type DlaResult,
  type LensResult,
  type AttentionResult,
  type HeadScore,
} from '../analysis/types.js';
import { builtinPrompt, inductionTargets, repeatPrediction } from './prompt.js';
import { answerTokenId, tokenLabel } from './tokensPrompt.js';

/**
 * The prompt's tokens, checked against n_ctx (the library would truncate silently).
 * @throws TokenError when the prompt is longer than the model's context.
 */
export async function preparePrompt(
  model: HookedTransformer,
  prompt: string | undefined,
): Promise<PromptInfo> {
  if (!model.tokenizer)
    throw new UsageError(
      `${model.cfg.modelName} has no tokenizer, so ${prompt === undefined ? 'no built-in prompt can be made' : '--prompt text cannot be read'}; ` +
        'expected the prompt as token ids, e.g. --tokens 1,2,3.',
    );
  const text = prompt ?? builtinPrompt(model);
  if (text.trim() === '') throw new TokenError('--prompt is empty; expected some text.');
  const { nCtx, defaultPrependBos, modelName } = model.cfg;
  const count = (model.tokenizer?.encode(text).length ?? 0) + (defaultPrependBos ? 1 : 0);
  if (count > nCtx) {
    throw new TokenError(
      `The prompt has ${count} tokens; expected at most n_ctx = ${nCtx} for ${modelName}. Shorten the prompt.`,
    );
  }
  const t = model.toTokens(text, { truncate: false });
  try {
    const ids = (await t.array())[0];
    return { text, builtin: prompt === undefined, tokens: model.toStrTokens(ids), ids };
  } finally {
    t.dispose();
  }
}

/**
 * What an analysis reads of a run: the activations it names and the logits at the last position
 * (`'last'`) or none. The model computes nothing else: no unembedding before the last position,
 * and with `'none'` no block after the last one holding a named activation.
 */
interface Needs {
  namesFilter: (name: string) => boolean;
  logits: 'last' | 'none';
}

/**
 * Runs the model on the prompt with a cache of what `needs` names, hands the cache and the logits
 * (`[1, 1, d_vocab]`, absent with `logits: 'none'`) to `body`, and disposes them.
 */
export async function withCache<T>(
  model: HookedTransformer,
  prompt: PromptInfo,
  needs: Needs,
  body: (cache: ActivationCache, logits: tf.Tensor | undefined) => Promise<T>,
): Promise<T> {
  const { logits, cache } = await model.runWithCache([prompt.ids], needs);
  try {
    return await body(cache, logits);
  } finally {
    cache.dispose();
    logits?.dispose();
  }
}

/** Whether `name` is one of `names`. */
const among =
  (...names: string[]) =>
  (name: string): boolean =>
    names.includes(name);

/** Logits of the last position, [d_vocab]. */
async function lastLogits(logits: tf.Tensor): Promise<Float32Array> {
  const [, pos, vocab] = logits.shape;
  const last = tf.tidy(() => logits.slice([0, pos - 1, 0], [1, 1, vocab]).reshape([vocab]));
  try {
    return (await last.data()) as Float32Array;
  } finally {
    last.dispose();
  }
}

/** The `top` most likely next tokens after the prompt. */
export async function topPredictions(
  model: HookedTransformer,
  prompt: PromptInfo,
  top: number,
  label: string,
): Promise<RunResult> {
  const logits = await model.forward([prompt.ids], { logits: 'last' });
  try {
    const l = await lastLogits(logits);
    return { model: label, prompt, predictions: rankTokens(model, l, top) };
  } finally {
    logits.dispose();
  }
}

function rankTokens(model: HookedTransformer, logits: Float32Array, top: number): Prediction[] {
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  let z = 0;
  for (const v of logits) z += Math.exp(v - max);
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
  return order.slice(0, top).map((id) => ({
    id,
    token: tokenLabel(model, id),
    prob: Math.exp(logits[id] - max) / z,
    logit: logits[id],
  }));
}

/**
 * The answer: `given` (one token), else what the prompt's repetition predicts, else the model's
 * top next token.
 * @throws TokenError when `given` is not exactly one token.
 */
export async function resolveAnswer(
  model: HookedTransformer,
  prompt: PromptInfo,
  logits: tf.Tensor | undefined,
  given: string | undefined,
): Promise<Answer> {
  if (given !== undefined) {
    if (given === '') throw new TokenError('--answer is empty; expected one token.');
    const id = answerTokenId(model, given);
    return { id, token: tokenLabel(model, id), source: 'given' };
  }
  const repeat = repeatPrediction(prompt.ids);
  if (repeat !== undefined) return { id: repeat, token: tokenLabel(model, repeat), source: 'repeat' };
  if (!logits) throw new UsageError('The top prediction needs the logits; this run computed none.');
  const l = await lastLogits(logits);
  const id = l.indexOf(l.reduce((a, b) => Math.max(a, b), -Infinity));
  return { id, token: tokenLabel(model, id), source: 'top' };
}

/** The residual stack that `--by` names, at the last position. */
export function dlaStack(model: HookedTransformer, cache: ActivationCache, by: DlaBy): Lazy {
  switch (by) {
    case 'heads':
      return cache.stackHeadResults({ posSlice: -1 });
    case 'layers':
      return cache.decomposeResid({ posSlice: -1 });
    case 'neurons':
      if (model.cfg.attnOnly) {
        throw new UsageError(
          `--by neurons given, but ${model.cfg.modelName} is attention-only (no MLP neurons); expected --by heads, layers or all.`,
        );
      }
      return cache.stackNeuronResults(null, { posSlice: -1 });
    case 'all':
      return cache.getFullResidDecomposition({ posSlice: -1 });
    default:
      throw new UsageError(`--by ${String(by)} given; expected one of ${DLA_BY.join(', ')}.`);
  }
}

/**
 * The activations each `--by` stack reads, with the final norm's scale the attribution divides by
 * (and hook_embed, which a stack takes its batch and position sizes from).
 */
const DLA_NEEDS: Record<DlaBy, RegExp> = {
  heads: /^(hook_embed|ln_final\.hook_scale)$|attn\.hook_z$/,
  layers: /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|hook_(attn|mlp)_out$/,
  neurons: /^(hook_embed|ln_final\.hook_scale)$|mlp\.hook_post$/,
  all: /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|mlp\.hook_post$|attn\.hook_z$/,
};

/** The run a `--by` attribution needs: its stack's activations and the last position's logits (for the answer). */
function dlaNeeds(by: DlaBy): Needs {
  const needs = DLA_NEEDS[by] as RegExp | undefined;
  if (!needs) throw new UsageError(`--by ${String(by)} given; expected one of ${DLA_BY.join(', ')}.`);
  return { namesFilter: (name) => needs.test(name), logits: 'last' };
}

/** The planned attribution of `answer` to each component of the `--by` stack: [components, 1]. */
export function dlaAttribution(
  model: HookedTransformer,
  cache: ActivationCache,
  by: DlaBy,
  answer: number,
): Lazy {
  return cache.logitAttrs(dlaStack(model, cache, by), answer, { posSlice: -1 });
}

/**
 * Direct logit attribution of the answer, the `top` largest components first (largest by
 * absolute value with `abs`, the values keeping their sign).
 */
export async function directLogitAttribution(
  model: HookedTransformer,
  prompt: PromptInfo,
  options: { by: DlaBy; top: number; answer?: string; label: string; abs?: boolean },
): Promise<DlaResult> {
  return withCache(model, prompt, dlaNeeds(options.by), async (cache, logits) => {
    const answer = await resolveAnswer(model, prompt, logits, options.answer);
    const attrs = dlaAttribution(model, cache, options.by, answer.id);
    const values = await attrs.data();
    const labels = attrs.labels ?? [];
    const rows = Array.from(values, (value, i) => ({ label: labels[i] ?? String(i), value }));
    if (options.abs) rows.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
    else rows.sort((a, b) => b.value - a.value);
    return {
      model: options.label,
      prompt,
      answer,
      by: options.by,
      components: rows.length,
      rows: rows.slice(0, options.top),
    };
  });
}

/** The plan of the `--by` attribution, before and after the planner rewrote it. */
export async function explainAttribution(
  model: HookedTransformer,
  prompt: PromptInfo,
  options: { by: DlaBy; answer?: string },
): Promise<{ answer: Answer; plan: string }> {
  return withCache(model, prompt, dlaNeeds(options.by), async (cache, logits) => {
    const answer = await resolveAnswer(model, prompt, logits, options.answer);
    return { answer, plan: dlaAttribution(model, cache, options.by, answer.id).explain() };
  });
}

/** Logit lens: the answer's rank and probability read off the residual stream after each layer. */
export async function logitLens(
  model: HookedTransformer,
  prompt: PromptInfo,
  options: { answer?: string; label: string },
): Promise<LensResult> {
  // The stream before each block and after the last; ln_final is recomputed per stream.
  const n = model.cfg.nLayers;
  const names = [
    ...Array.from({ length: n }, (_, l) => `blocks.${l}.hook_resid_pre`),
    `blocks.${n - 1}.hook_resid_post`,
  ];
  return withCache(model, prompt, { namesFilter: among(...names), logits: 'last' }, async (cache, logits) => {
    const answer = await resolveAnswer(model, prompt, logits, options.answer);
    const acc = cache.accumulatedResid({ applyLn: true, posSlice: -1 }); // [layers, 1, d_model]
    const resid = acc.tensor();
    let parts: tf.Tensor[] = [];
    let ranks: Int32Array | Float32Array | Uint8Array;
    let probs: typeof ranks;
    let answerLogits: typeof ranks;
    try {
      parts = tf.tidy(() => {
        const flat = resid.reshape([resid.shape[0], model.cfg.dModel]);
        const layerLogits = tf.add(tf.matMul(flat, model.W_U), model.b_U); // [layers, d_vocab]
        const mine = layerLogits.slice([0, answer.id], [-1, 1]); // [layers, 1]
        const above = tf.sum(tf.cast(tf.greater(layerLogits, mine), 'int32'), 1);
        const prob = tf.softmax(layerLogits).slice([0, answer.id], [-1, 1]).reshape([-1]);
        return [above, prob, mine.reshape([-1])];
      });
      [ranks, probs, answerLogits] = await Promise.all(parts.map((t) => t.data()));
    } finally {
      tf.dispose([resid, ...parts]);
    }
    const labels = acc.labels ?? [];
    const rows = Array.from(ranks, (above, i) => ({
      label: labels[i] ?? String(i),
      rank: above + 1,
      prob: probs[i],
      logit: answerLogits[i],
    }));
    return { model: options.label, prompt, answer, rows };
  });
}

/**
 * Mean attention of each head of `layers` (default all) from repeated tokens to the token after
 * their earlier occurrence.
 */
export async function inductionScores(
  model: HookedTransformer,
  cache: ActivationCache,
  prompt: PromptInfo,
  layers: readonly number[] = Array.from({ length: model.cfg.nLayers }, (_, l) => l),
): Promise<HeadScore[]> {
  const targets = inductionTargets(prompt.ids);
  const pairs = targets.flatMap((k, q) => (k === undefined ? [] : [[q, k] as const]));
  if (pairs.length === 0) return [];
  const out: HeadScore[] = [];
  for (const layer of layers) {
    const pattern = cache.get(`blocks.${layer}.attn.hook_pattern`); // [1, heads, q, k]
    const p = (await pattern.array()) as number[][][][];
    for (let head = 0; head < model.cfg.nHeads; head++) {
      const sum = pairs.reduce((s, [q, k]) => s + p[0][head][q][k], 0);
      out.push({ label: `L${layer}H${head}`, layer, head, score: sum / pairs.length });
    }
  }
  return out;
}

/** Checks a layer or head index against the model. */
export function checkIndex(value: number, count: number, flag: string, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= count) {
    throw new UsageError(
      `${flag} ${value} given; expected an integer in [0, ${count - 1}] (the model has ${count} ${what}).`,
    );
  }
}

/**
 * One head's attention pattern over the prompt. Without `layer`, the last layer; without
 * `head`, the head of that layer with the highest induction score (head 0 without repeats).
 */
export async function attentionPattern(
  model: HookedTransformer,
  prompt: PromptInfo,
  options: { layer?: number; head?: number; label: string },
): Promise<AttentionResult> {
  const layer = options.layer ?? model.cfg.nLayers - 1;
  checkIndex(layer, model.cfg.nLayers, '--layer', 'layers');
  if (options.head !== undefined) checkIndex(options.head, model.cfg.nHeads, '--head', 'heads per layer');
  // Only this layer's pattern: the run stops after its block and computes no logits.
  const needs: Needs = { namesFilter: among(`blocks.${layer}.attn.hook_pattern`), logits: 'none' };
  return withCache(model, prompt, needs, async (cache) => {
    const scores = await inductionScores(model, cache, prompt, [layer]);
    const best = scores.reduce<HeadScore | undefined>((a, s) => (!a || s.score > a.score ? s : a), undefined);
    const head = options.head ?? best?.head ?? 0;
    const pattern = tf.tidy(() =>
      cache.get(`blocks.${layer}.attn.hook_pattern`).slice([0, head], [1, 1]).squeeze([0, 1]),
    );
    let rows: number[][];
    try {
      rows = (await pattern.array()) as number[][];
    } finally {
      pattern.dispose();
    }
    const score = scores.find((s) => s.head === head)?.score ?? null;
    return { model: options.label, prompt, layer, head, pattern: rows, inductionScore: score };
  });
}

/** Induction score of every head (for the demo). */
export async function allInductionScores(model: HookedTransformer, prompt: PromptInfo): Promise<HeadScore[]> {
  const needs: Needs = { namesFilter: (name) => name.endsWith('.attn.hook_pattern'), logits: 'none' };
  return withCache(model, prompt, needs, (cache) => inductionScores(model, cache, prompt));
}
