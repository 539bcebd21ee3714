/**
 * Host-side arrays (what the loaders return) and the one place they become tf tensors.
 * Loaders never create tensors, so nothing can leak on a failed load; the caller of
 * {@link toTensor} owns what it returns.
 */
import * as tf from '@tensorflow/tfjs';
import { CheckpointError } from '../errors.js';

/** A row-major array with its shape, living in JS memory (no tf tensor behind it). */
export interface HostArray<D extends Float32Array | Int32Array = Float32Array | Int32Array> {
  shape: number[];
  data: D;
}

/** TransformerLens-named weights (`embed.W_E`, `blocks.0.attn.W_Q`, …) as float32 host arrays. */
export type StateDict = Map<string, HostArray<Float32Array>>;

/**
 * Creates a tf tensor from a host array: float32 for Float32Array data, int32 for Int32Array.
 * The caller owns (and must dispose) the result.
 * @throws CheckpointError when the data length does not match the shape.
 */
export function toTensor(array: HostArray): tf.Tensor {
  const size = array.shape.reduce((a, b) => a * b, 1);
  if (array.data.length !== size) {
    throw new CheckpointError(
      `toTensor: data has ${array.data.length} values; expected ${size} for shape [${array.shape.join(', ')}].`,
    );
  }
  return tf.tensor(array.data, array.shape, array.data instanceof Int32Array ? 'int32' : 'float32');
}

/**
 * Moves a host state dict into tf tensors, deleting each entry from `host` once its tensor
 * exists, so a host array can be freed as soon as the backend holds its copy (wasm, webgpu and
 * tfjs-node copy the data; cpu keeps the array itself). Converting without deleting holds the
 * whole model twice until the last tensor is made. On failure the tensors made so far are
 * disposed and the rest stay in `host`.
 * @returns TransformerLens name → tensor, in `host`'s order; the caller owns the tensors.
 */
export function moveToTensors(host: Map<string, HostArray>): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  try {
    for (const [name, array] of host) {
      out.set(name, toTensor(array));
      host.delete(name); // deleting the current entry while iterating a Map is well defined
    }
  } catch (e) {
    tf.dispose([...out.values()]);
    throw e;
  }
  return out;
}
