/**
 * Random initialization as TransformerLens's default ("gpt2" init mode): every weight matrix
 * (a name containing `W_`) ~ N(0, initRange), biases zero, norm weights one.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import { expectedParamShapes, type StateDict } from '../core/stateDict.js';
import { InvalidArgumentError } from '../errors.js';
import { mulberry32 } from '../util/mulberry32.js';

/** tfjs seeds are read by truthiness (0 means "unseeded"), so every derived seed lies in [1, 2³¹). */
const SEED_SPAN = 2 ** 31 - 1;

/** Builds a fresh state dict for `cfg`; the caller owns every tensor in it. */
export function initWeights(cfg: HookedTransformerConfig, seed: number): StateDict {
  if (!Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError(`seed ${String(seed)} given; expected an integer.`);
  }
  // Per-tensor seeds come from one PRNG seeded with `seed`: every seed (0 included) is reproducible.
  const nextSeed = mulberry32(seed);
  const params: StateDict = new Map();
  try {
    for (const [name, shape] of expectedParamShapes(cfg)) {
      // Grouped-query keys/values are stored as `_W_K` etc.; the underscore does not change the kind.
      const leaf = name.slice(name.lastIndexOf('.') + 1).replace(/^_/, '');
      // Each tensor gets its own seed, drawn in a fixed order, so one model is reproducible
      // whatever else tfjs's global random state has seen.
      const tensorSeed = 1 + Math.floor(nextSeed() * (SEED_SPAN - 1));
      const t = leaf.startsWith('W_')
        ? tf.randomNormal(shape, 0, cfg.initRange, 'float32', tensorSeed)
        : leaf === 'w'
          ? tf.ones(shape)
          : tf.zeros(shape);
      params.set(name, t);
    }
  } catch (e) {
    // A bad shape later in the list must not strand the tensors already built.
    for (const t of params.values()) t.dispose();
    throw e;
  }
  return params;
}
