/**
 * TransformerLens's `detect_head`: score every attention head by how closely its attention on a
 * sequence follows a detection pattern (previous-token, duplicate-token, induction, or your own).
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationCache } from '../cache/ActivationCache.js';
import { BadLayerError, InvalidArgumentError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import {
  computeHeadAttentionSimilarityScore,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  getPreviousTokenHeadDetectionPattern,
  isLowerTriangular,
  type ErrorMeasure,
  type PatternMatrix,
} from './headDetectionPatterns.js';

/** The built-in patterns, by TransformerLens's names or camelCase ones. */
export type HeadName =
  | 'previousTokenHead'
  | 'duplicateTokenHead'
  | 'inductionHead'
  | 'previous_token_head'
  | 'duplicate_token_head'
  | 'induction_head';

const BUILTIN: Record<HeadName, (tokens: readonly number[]) => PatternMatrix> = {
  previousTokenHead: getPreviousTokenHeadDetectionPattern,
  duplicateTokenHead: getDuplicateTokenHeadDetectionPattern,
  inductionHead: getInductionHeadDetectionPattern,
  previous_token_head: getPreviousTokenHeadDetectionPattern,
  duplicate_token_head: getDuplicateTokenHeadDetectionPattern,
  induction_head: getInductionHeadDetectionPattern,
};

/** Options of {@link detectHead}. */
export interface DetectHeadOptions {
  /** Only these heads: `[layer, head]` pairs or `{ layer: heads }`; the others score −1 (as TL). Default all. */
  heads?: readonly (readonly [number, number])[] | Readonly<Record<number, readonly number[]>>;
  /** A cache of this sequence's run holding `blocks.L.attn.hook_pattern` (batch of 1, or none); default: run the model. */
  cache?: ActivationCache;
  /** Ignore attention paid to position 0 (the BOS token). Default false. */
  excludeBos?: boolean;
  /** Ignore each token's attention to itself. Default false. */
  excludeCurrentToken?: boolean;
  /** `'mul'` (default) or `'abs'`; see {@link computeHeadAttentionSimilarityScore}. */
  errorMeasure?: ErrorMeasure;
}

const OPTION_KEYS = ['heads', 'cache', 'excludeBos', 'excludeCurrentToken', 'errorMeasure'];

/**
 * Scores [n_layers, n_heads] of every head (or those in `heads`; the rest −1) against a detection
 * pattern on `seq`: a string (tokenized with BOS as `model.toTokens`), token ids (used as given),
 * or several strings (named patterns only: the mean over them, as TL; unlike TL the options
 * apply to each string). `detectionPattern` is a built-in name or a [pos, pos] lower-triangular
 * pattern (array or tensor). The caller owns the returned tensor.
 * @throws InvalidArgumentError for an unknown pattern name or option, a pattern of the wrong
 *   shape or not lower triangular, or a sequence not longer than 1 token and shorter than n_ctx.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const seq = 'cat dog tree sun moon cat dog tree sun moon';
 * const scores = await detectHead(model, seq, 'inductionHead', { excludeBos: true });   // [2, 4]
 * // a pattern of your own: each query attends to the first token
 * const first = [[0, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]];
 * const mine = await detectHead(model, [1, 2, 3, 4], first);
 * scores.dispose(); mine.dispose(); model.dispose();
 * ```
 */
export async function detectHead(
  model: HookedTransformer,
  seq: string | readonly string[] | readonly number[],
  detectionPattern: HeadName | PatternMatrix | tf.Tensor,
  options: DetectHeadOptions = {},
): Promise<tf.Tensor2D> {
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) {
      throw new InvalidArgumentError(
        `detectHead: given unknown option '${k}', expected one of ${OPTION_KEYS.join(', ')}.`,
      );
    }
  }
  const measure = options.errorMeasure ?? 'mul';
  if (measure !== 'mul' && measure !== 'abs') {
    throw new InvalidArgumentError(
      `detectHead: given errorMeasure '${String(measure)}', expected 'mul' or 'abs'.`,
    );
  }
  if (typeof detectionPattern === 'string' && !(detectionPattern in BUILTIN)) {
    throw new InvalidArgumentError(
      `detectHead: given pattern '${detectionPattern}', expected a [pos, pos] pattern or one of ${Object.keys(BUILTIN).join(', ')}.`,
    );
  }
  if (Array.isArray(seq) && seq.length > 0 && seq.every((s) => typeof s === 'string')) {
    if (typeof detectionPattern !== 'string') {
      throw new InvalidArgumentError(
        'detectHead: given several sequences with an explicit pattern, expected a named pattern (a pattern fits one sequence).',
      );
    }
    if (options.cache)
      throw new InvalidArgumentError(
        'detectHead: given several sequences and a cache, expected one sequence for a cache.',
      );
    const all = await Promise.all(seq.map((s) => headScores(model, s, detectionPattern, options)));
    const n = all[0].length;
    return tf.tensor2d(
      Array.from({ length: n }, (_, i) =>
        all[0][i].map((_, j) => all.reduce((acc, m) => acc + m[i][j], 0) / all.length),
      ),
    );
  }
  return tf.tensor2d(await headScores(model, seq as string | readonly number[], detectionPattern, options));
}

async function tokenIds(model: HookedTransformer, seq: string | readonly number[]): Promise<number[]> {
  if (typeof seq !== 'string') {
    if (!seq.every((x) => Number.isInteger(x))) {
      throw new InvalidArgumentError(
        'detectHead: given a sequence that is neither text nor token ids, expected one of them.',
      );
    }
    return [...seq];
  }
  const t = model.toTokens(seq);
  try {
    return (await t.array())[0];
  } finally {
    t.dispose();
  }
}

async function patternOf(
  detectionPattern: HeadName | PatternMatrix | tf.Tensor,
  ids: readonly number[],
): Promise<PatternMatrix> {
  if (typeof detectionPattern === 'string') return BUILTIN[detectionPattern](ids);
  const m =
    detectionPattern instanceof tf.Tensor
      ? ((await detectionPattern.array()) as PatternMatrix)
      : detectionPattern;
  const n = ids.length;
  if (!Array.isArray(m) || m.length !== n || m.some((r) => !Array.isArray(r) || r.length !== n)) {
    const shape =
      detectionPattern instanceof tf.Tensor ? `[${detectionPattern.shape.join(', ')}]` : `${m.length} rows`;
    throw new InvalidArgumentError(
      `detectHead: given a detection pattern of ${shape}, expected [${n}, ${n}] (the sequence's tokens).`,
    );
  }
  if (!isLowerTriangular(m)) {
    throw new InvalidArgumentError(
      'detectHead: given a detection pattern with entries above the diagonal, expected a lower-triangular one.',
    );
  }
  return m;
}

function layerHeads(model: HookedTransformer, heads: DetectHeadOptions['heads']): Map<number, number[]> {
  const { nLayers, nHeads } = model.cfg;
  const out = new Map<number, number[]>();
  const add = (l: number, h: number): void => {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) {
      throw new BadLayerError(`detectHead: given layer ${l}, expected an integer in [0, ${nLayers - 1}].`);
    }
    if (!Number.isInteger(h) || h < 0 || h >= nHeads) {
      throw new InvalidArgumentError(
        `detectHead: given head ${h}, expected an integer in [0, ${nHeads - 1}].`,
      );
    }
    out.set(l, [...(out.get(l) ?? []), h]);
  };
  if (heads === undefined) {
    for (let l = 0; l < nLayers; l++) for (let h = 0; h < nHeads; h++) add(l, h);
  } else if (Array.isArray(heads)) {
    for (const [l, h] of heads as readonly (readonly [number, number])[]) add(l, h);
  } else {
    for (const [l, hs] of Object.entries(heads)) for (const h of hs) add(Number(l), h);
  }
  return out;
}

async function headScores(
  model: HookedTransformer,
  seq: string | readonly number[],
  detectionPattern: HeadName | PatternMatrix | tf.Tensor,
  options: DetectHeadOptions,
): Promise<number[][]> {
  const { nLayers, nHeads, nCtx } = model.cfg;
  const ids = await tokenIds(model, seq);
  if (!(ids.length > 1 && ids.length < nCtx)) {
    throw new InvalidArgumentError(
      `detectHead: given a sequence of ${ids.length} tokens, expected more than 1 and fewer than n_ctx = ${nCtx}.`,
    );
  }
  const pattern = await patternOf(detectionPattern, ids);
  const wanted = layerHeads(model, options.heads);
  const names = [...wanted.keys()].map((l) => `blocks.${l}.attn.hook_pattern`);
  const made = options.cache === undefined;
  let cache: ActivationCache;
  if (options.cache) cache = options.cache;
  else {
    // Only the patterns are read: no logits, and no block after the last one asked about.
    const run = await model.runWithCache([ids], { namesFilter: names, removeBatchDim: true, logits: 'none' });
    cache = run.cache;
  }
  const scores = Array.from({ length: nLayers }, () => new Array<number>(nHeads).fill(-1));
  try {
    for (const [layer, heads] of wanted) {
      const t = cache.get(`blocks.${layer}.attn.hook_pattern`);
      const raw = (await t.array()) as number[][][] | number[][][][];
      const perHead = (t.rank === 4 ? (raw as number[][][][])[0] : raw) as number[][][];
      if ((t.rank === 4 && t.shape[0] !== 1) || perHead[0]?.length !== ids.length) {
        throw new InvalidArgumentError(
          `detectHead: given a cache whose pattern is [${t.shape.join(', ')}], expected one sequence of ${ids.length} tokens.`,
        );
      }
      for (const h of heads)
        scores[layer][h] = computeHeadAttentionSimilarityScore(perHead[h], pattern, options);
    }
  } finally {
    if (made) cache.dispose();
  }
  return scores;
}
