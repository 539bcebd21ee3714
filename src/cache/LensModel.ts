/**
 * What the cache needs of the model that produced it. HookedTransformer implements it; the
 * interface keeps src/cache free of an import cycle with src/model.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';

export interface LensModel {
  readonly cfg: HookedTransformerConfig;
  /** True once the model was disposed: its weights are gone. */
  readonly isDisposed: boolean;
  /** A parameter under its TransformerLens name, owned by the model. */
  getParam(name: string): tf.Tensor;
  /** The id of a string that is exactly one token. */
  toSingleToken(text: string): number;
}
