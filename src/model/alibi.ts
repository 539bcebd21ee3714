/**
 * ALiBi (BLOOM): instead of positional embeddings, each head adds `slope · (k − q)` to the
 * attention score of query q and key k ≤ q, so attention fades linearly with distance at a
 * per-head rate. Added after scaling and before the causal mask, as TransformerLens does, so
 * `hook_attn_scores` holds the biased scores. (Hugging Face adds `slope · k` instead, which
 * differs by a per-row constant that softmax ignores: the patterns are identical.)
 */
import * as tf from '@tensorflow/tfjs';

/**
 * The per-head slopes BLOOM trained with: for a power of two n, `2^(−8i/n)` for i = 1..n; other
 * head counts take those of the largest power of two below, then every other slope of the next
 * power of two (TL's formula is the power-of-two case).
 */
export function alibiSlopes(nHeads: number): number[] {
  const pow2 = 2 ** Math.floor(Math.log2(nHeads));
  const geometric = (n: number, count: number, step: number): number[] =>
    Array.from({ length: count }, (_, i) => Math.pow(2, (-8 / n) * (1 + i * step)));
  const slopes = geometric(pow2, pow2, 1);
  if (pow2 === nHeads) return slopes;
  return [...slopes, ...geometric(2 * pow2, nHeads - pow2, 2)];
}

/**
 * The bias [1, heads, pos, keys]: `slope_h · (k − q)` for k ≤ q, 0 above the diagonal (masked
 * anyway). With `keys` > `pos` the queries are the last `pos` of `keys` positions (a pass over new
 * tokens after cached ones), so query i sits at `keys − pos + i`.
 */
export function alibiBias(nHeads: number, pos: number, keys: number = pos): tf.Tensor {
  const slopes = alibiSlopes(nHeads);
  const offset = keys - pos;
  const data = new Float32Array(nHeads * pos * keys);
  for (let h = 0; h < nHeads; h++) {
    for (let q = 0; q < pos; q++) {
      const at = q + offset;
      for (let k = 0; k <= at; k++) data[(h * pos + q) * keys + k] = slopes[h] * (k - at);
    }
  }
  return tf.tensor(data, [1, nHeads, pos, keys]);
}
