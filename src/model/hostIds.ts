/** The guard that keeps tensors out of the token helpers that must answer synchronously. */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';

/**
 * Ids given as host data, as they are; a tensor is refused with the way to read it, since the
 * library never reads a tensor synchronously (webgpu in Node cannot).
 */
export function hostIds<T>(ids: T, method: string): T {
  if (ids instanceof tf.Tensor) {
    throw new InvalidArgumentError(
      `${method} given a tensor; expected token ids as numbers: read it first with \`await tokens.array()\`.`,
    );
  }
  return ids;
}
