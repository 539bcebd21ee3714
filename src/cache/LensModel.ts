/**
 * What the cache needs of the model that produced it. HookedTransformer implements it; the
 * interface keeps src/cache free of an import cycle with src/model.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../model/config.js';

export interface LensModel {
  readonly cfg: HookedTransformerConfig;
  /** A parameter under its TransformerLens name, owned by the model. */
  getParam(name: string): tf.Tensor;
}
