/**
 * `runWithCache({ posSlice })`: keep only some positions of each cached activation. As
 * TransformerLens, the position axis is −3 for per-head q/k/v/z/result and −2 otherwise
 * (the query axis for attention scores and patterns). Unlike TransformerLens, the rotated
 * `hook_rot_q` / `hook_rot_k` [b, p, h, dh] are sliced on their position axis (−3) too: TL
 * slices −2 there, which is the head axis.
 */
import * as tf from '@tensorflow/tfjs';
import { Slice, type SliceInput } from '../../graph/slice.js';

export type PosSliceInput = SliceInput;

const PER_HEAD = /hook_(q|k|v|z|result|rot_q|rot_k)$/;

/** The axis `posSlice` applies to for hook `name`. */
export function posAxis(name: string): number {
  return PER_HEAD.test(name) ? -3 : -2;
}

/** A new tensor holding `activation` restricted to the sliced positions (the caller owns it). */
export function applyPosSlice(activation: tf.Tensor, name: string, posSlice: PosSliceInput): tf.Tensor {
  const slice = Slice.from(posSlice);
  const axis = activation.rank + posAxis(name);
  const n = activation.shape[axis];
  return tf.tidy(() => {
    const picked = tf.gather(activation, tf.tensor1d(slice.indices(n), 'int32'), axis);
    return slice.collapses ? tf.squeeze(picked, [axis]) : picked;
  });
}
