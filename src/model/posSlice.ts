/**
 * `runWithCache({ posSlice })`: keep only some positions of each cached activation. As
 * TransformerLens, the position axis is −3 for per-head q/k/v/z/result and −2 otherwise
 * (the query axis for attention scores and patterns).
 */
import * as tf from '@tensorflow/tfjs';
import { Slice, type SliceInput } from '../../graph/slice.js';

export type PosSliceInput = SliceInput;

const PER_HEAD = /hook_(q|k|v|z|result)$/;

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
