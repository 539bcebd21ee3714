/**
 * Every head's OV and QK circuit as factored d_model × d_model matrices (TransformerLens's
 * `model.OV` and `model.QK`), built from the model's stacked weights without forming the products.
 */
import * as tf from '@tensorflow/tfjs';
import { FactoredMatrix } from './FactoredMatrix.js';

/** What the circuit tools read from a model: TransformerLens's stacked attention weights. */
export interface AttentionWeights {
  /** [n_layers, n_heads, d_model, d_head] */
  readonly W_Q: tf.Tensor;
  /** [n_layers, n_heads, d_model, d_head] */
  readonly W_K: tf.Tensor;
  /** [n_layers, n_heads, d_model, d_head] */
  readonly W_V: tf.Tensor;
  /** [n_layers, n_heads, d_head, d_model] */
  readonly W_O: tf.Tensor;
}

/**
 * The OV circuits `W_V @ W_O` [n_layers, n_heads, d_model, d_model], factored through d_head.
 * The caller disposes the result (the model keeps its weights).
 * @example
 * ```ts
 * const cfg = { nLayers: 2, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
 * const model = HookedTransformer.fromConfig(cfg);
 * const ov = OV(model);      // [2, 4, 16, 16] through d_head 4
 * const norms = ov.norm();   // [n_layers, n_heads]
 * norms.dispose(); ov.dispose(); model.dispose();
 * ```
 */
export function OV(model: AttentionWeights): FactoredMatrix {
  return new FactoredMatrix(model.W_V, model.W_O);
}

/**
 * The QK circuits `W_Q @ W_Kᵀ` [n_layers, n_heads, d_model, d_model], factored through d_head
 * (query side on the left, as TransformerLens). The caller disposes the result.
 */
export function QK(model: AttentionWeights): FactoredMatrix {
  const rank = model.W_K.rank;
  const perm = model.W_K.shape.map((_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [rank - 1, rank - 2];
  return FactoredMatrix.adopt(model.W_Q.clone(), tf.transpose(model.W_K, perm));
}
