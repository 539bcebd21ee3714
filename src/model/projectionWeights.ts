/**
 * The query, key and value weights laid out for the forward's matMul: TransformerLens stores
 * `W_Q` as [n_heads, d_model, d_head], and `x @ W_Q` over all heads at once needs it as
 * [d_model, n_heads·d_head]. Transposing on every pass costs a copy of each weight per layer, and
 * on wasm far more: XNNPACK packs a matMul's right operand once per tensor and keeps the packing
 * while that tensor lives, so a fresh transposed weight is repacked on every call (measured on a
 * GPT-2-small shape, 1×64: a 768×768 projection took 9 ms from a fresh tensor, 3.2 ms from a
 * kept one). The layouts are built once with the model and freed with it.
 */
import * as tf from '@tensorflow/tfjs';
import { isHeadProjection, type StateDict } from '../core/stateDict.js';

/** Parameter name (`blocks.L.attn.W_Q`, `…_W_K` for grouped keys) → [d_model, heads·d_head]. */
export type ProjectionWeights = ReadonlyMap<string, tf.Tensor>;

/** [heads, d, dh] → [d, heads·dh]: column `i·dh + j` is head i's output j. */
export function flattenHeads(w: tf.Tensor): tf.Tensor {
  const [h, d, dh] = w.shape;
  return tf.tidy(() => tf.reshape(tf.transpose(w, [1, 0, 2]), [d, h * dh]));
}

/** The flattened layout of every query, key and value weight in `params` (owned by the caller). */
export function buildProjectionWeights(params: StateDict): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, w] of params) if (isHeadProjection(name)) out.set(name, flattenHeads(w));
  return out;
}
