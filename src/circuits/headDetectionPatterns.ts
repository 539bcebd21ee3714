/**
 * The attention patterns TransformerLens's `detect_head` looks for, as [pos, pos] host arrays
 * (query rows, key columns, lower triangular), and its similarity score between a head's pattern
 * and one of them.
 */
import { InvalidArgumentError } from '../errors.js';

/** A [q_pos][k_pos] pattern on the host. */
export type PatternMatrix = number[][];

/** TransformerLens's error measures: `'mul'` (share of attention on the pattern) or `'abs'` (1 − summed |difference| / pos). */
export type ErrorMeasure = 'mul' | 'abs';

/** Ones just below the diagonal: each token attends to the one before it. */
export function getPreviousTokenHeadDetectionPattern(tokens: readonly number[]): PatternMatrix {
  const n = tokens.length;
  return Array.from({ length: n }, (_, q) => Array.from({ length: n }, (_, k) => (k === q - 1 ? 1 : 0)));
}

/** Ones where an earlier token equals the current one (the diagonal excluded). */
export function getDuplicateTokenHeadDetectionPattern(tokens: readonly number[]): PatternMatrix {
  const n = tokens.length;
  return Array.from({ length: n }, (_, q) =>
    Array.from({ length: n }, (_, k) => (k < q && tokens[k] === tokens[q] ? 1 : 0)),
  );
}

/**
 * Ones on the token after each earlier occurrence of the current token: the duplicate pattern
 * shifted one key to the right (the first key column left at zero), kept lower triangular.
 */
export function getInductionHeadDetectionPattern(tokens: readonly number[]): PatternMatrix {
  const dup = getDuplicateTokenHeadDetectionPattern(tokens);
  const n = tokens.length;
  return dup.map((row, q) => Array.from({ length: n }, (_, k) => (k >= 1 && k <= q ? row[k - 1] : 0)));
}

/** Options of {@link computeHeadAttentionSimilarityScore}. */
export interface SimilarityOptions {
  /** Ignore attention to position 0 (the BOS token). Default false. */
  excludeBos?: boolean;
  /** Ignore each query's attention to itself. Default false. */
  excludeCurrentToken?: boolean;
  /** `'mul'` (default) or `'abs'`. */
  errorMeasure?: ErrorMeasure;
}

/**
 * How well one head's attention pattern matches a detection pattern (TransformerLens's
 * `compute_head_attention_similarity_score`). `'mul'`: the share of the (kept) attention that
 * falls where the detection pattern is 1, in [0, 1]. `'abs'`: 1 − Σ|attention − detection| / pos,
 * rounded to 3 decimals as TL, in (−1, 1].
 * Neither input is modified (TL zeroes the excluded entries of the cached pattern in place).
 */
export function computeHeadAttentionSimilarityScore(
  attentionPattern: PatternMatrix,
  detectionPattern: PatternMatrix,
  options: SimilarityOptions = {},
): number {
  const n = attentionPattern.length;
  if (attentionPattern.some((r) => r.length !== n)) {
    throw new InvalidArgumentError(
      `Attention pattern: given ${n} rows of lengths ${[...new Set(attentionPattern.map((r) => r.length))].join('/')}, expected a square matrix.`,
    );
  }
  if (detectionPattern.length !== n || detectionPattern.some((r) => r.length !== n)) {
    throw new InvalidArgumentError(
      `Detection pattern: given ${detectionPattern.length} rows, expected a ${n}×${n} matrix (the attention pattern's shape).`,
    );
  }
  const measure = options.errorMeasure ?? 'mul';
  const excluded = (q: number, k: number): boolean =>
    (options.excludeBos === true && k === 0) || (options.excludeCurrentToken === true && q === k);
  if (measure === 'mul') {
    let hit = 0;
    let total = 0;
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        if (excluded(q, k)) continue;
        total += attentionPattern[q][k];
        hit += attentionPattern[q][k] * detectionPattern[q][k];
      }
    }
    return hit / total;
  }
  if (measure !== 'abs') {
    throw new InvalidArgumentError(`errorMeasure: given '${String(measure)}', expected 'mul' or 'abs'.`);
  }
  let sum = 0;
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const diff = Math.abs(attentionPattern[q][k] - detectionPattern[q][k]);
      if (k > q && diff !== 0) {
        throw new InvalidArgumentError(
          `Attention and detection patterns differ above the diagonal at [${q}, ${k}]; expected both lower triangular.`,
        );
      }
      if (!excluded(q, k)) sum += diff;
    }
  }
  return 1 - Math.round((sum / n) * 1000) / 1000;
}

/** True when every entry above the diagonal is zero. */
export function isLowerTriangular(m: PatternMatrix): boolean {
  return m.every((row, q) => row.every((v, k) => k <= q || v === 0));
}
