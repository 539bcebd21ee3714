/**
 * `runWithCache({ posSlice })`: keep only some positions of each cached activation, on the hook's
 * position axis ({@link posAxis}). As TransformerLens's `run_with_cache`, a plain integer keeps
 * the position axis (it is read as a one-element list), so `posSlice: -1` caches `[batch, 1, ...]`;
 * only an explicit `Slice` of mode 'int' collapses it. Unlike TransformerLens, the rotated
 * `hook_rot_q` / `hook_rot_k` [b, p, h, dh] are sliced on their position axis too: TL slices −2
 * there, which is the head axis.
 */
import * as tf from '@tensorflow/tfjs';
import { Slice, type SliceInput } from '../../graph/slice.js';
import { takeIndices } from '../../graph/takeRun.js';
import { posAxis } from '../core/hookPoints.js';

/** Which positions to keep: anything a {@link Slice} takes (an int keeps a length-1 axis). */
export type PosSliceInput = SliceInput;

/** A new tensor holding `activation` restricted to the sliced positions (the caller owns it). */
export function applyPosSlice(activation: tf.Tensor, name: string, posSlice: PosSliceInput): tf.Tensor {
  const slice = Slice.from(typeof posSlice === 'number' ? [posSlice] : posSlice);
  const axis = activation.rank + posAxis(name);
  const n = activation.shape[axis];
  return tf.tidy(() => {
    // A run of a large activation is gathered, never sliced whole (wasm's Slice copies its input).
    const picked = takeIndices(activation, axis, slice.indices(n));
    return slice.collapses ? tf.squeeze(picked, [axis]) : picked;
  });
}
