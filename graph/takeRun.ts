/**
 * A run of consecutive entries along one axis, taken without copying what it does not keep.
 *
 * tfjs-backend-wasm's `Slice` kernel (and `StridedSlice` with unit strides, `Unpack`, `SplitV`,
 * which call it) first reads its *whole* input out of the wasm heap into a fresh JavaScript
 * array, then copies the run from there: one column of a [768, 50257] unembedding moves 154 MB
 * (measured ~200 ms, against ~1 ms for `Gather`). Its `Gather` touches only the entries it keeps,
 * but one element at a time, some 30–50× slower per element than that bulk copy (a [768, 25000]
 * half of the same matrix: slice ~0.3 s, gather ~3.7 s). So a run that keeps a small part of a
 * large tensor is gathered; anything else is sliced. Both copy values exactly, so the choice never
 * changes a result, on any backend.
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf } from './node.js';

/** A run keeping at most this fraction of its axis is gathered (see the module note for why). */
const GATHER_FRACTION = 1 / 32;

/** Inputs below this many elements are always sliced: their whole copy costs less than a gather's setup. */
const GATHER_MIN_ELEMENTS = 1 << 16;

/** Whether {@link takeRun} gathers (rather than slices) `count` of `x`'s `len` entries on one axis. */
export function gathersRun(shape: readonly number[], len: number, count: number): boolean {
  return sizeOf(shape) >= GATHER_MIN_ELEMENTS && count <= len * GATHER_FRACTION;
}

/**
 * `x` restricted to entries `start … start + count − 1` of axis `dim` (the axis kept, of length
 * `count`): a gather where the run is a small part of a large tensor, else a slice. Call inside
 * `tf.tidy` (the index tensor of a gather is a temporary).
 */
export function takeRun(x: tf.Tensor, dim: number, start: number, count: number): tf.Tensor {
  if (gathersRun(x.shape, x.shape[dim], count)) {
    return tf.gather(x, tf.range(start, start + count, 1, 'int32'), dim);
  }
  const begin = x.shape.map((_, i) => (i === dim ? start : 0));
  const size = x.shape.map((d, i) => (i === dim ? count : d));
  return tf.slice(x, begin, size);
}

/**
 * `x` at `indices` of axis `dim` (the axis kept, of length `indices.length`): a consecutive run
 * through {@link takeRun}, any other list by gather. Call inside `tf.tidy`.
 */
export function takeIndices(x: tf.Tensor, dim: number, indices: readonly number[]): tf.Tensor {
  const run = indices.length > 0 && indices.every((v, i) => v === indices[0] + i);
  if (run) return takeRun(x, dim, indices[0], indices.length);
  return tf.gather(x, tf.tensor1d([...indices], 'int32'), dim);
}
