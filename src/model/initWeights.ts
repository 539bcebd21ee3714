/**
 * Random initialization as TransformerLens's default ("gpt2" init mode): every weight matrix
 * (a name containing `W_`) ~ N(0, initRange), biases zero, norm weights one.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import { expectedParamShapes, type StateDict } from '../core/stateDict.js';

/** Builds a fresh state dict for `cfg`; the caller owns every tensor in it. */
export function initWeights(cfg: HookedTransformerConfig, seed: number): StateDict {
  const params: StateDict = new Map();
  let i = 0;
  for (const [name, shape] of expectedParamShapes(cfg)) {
    // Grouped-query keys/values are stored as `_W_K` etc.; the underscore does not change the kind.
    const leaf = name.slice(name.lastIndexOf('.') + 1).replace(/^_/, '');
    // Each tensor gets its own seed so one model is reproducible regardless of creation order elsewhere.
    const t = leaf.startsWith('W_')
      ? tf.randomNormal(shape, 0, cfg.initRange, 'float32', seed * 1009 + i)
      : leaf === 'w'
        ? tf.ones(shape)
        : tf.zeros(shape);
    params.set(name, t);
    i++;
  }
  return params;
}
