/**
 * The load-time check that weights are finite, shared by every checkpoint format.
 */
import { CheckpointError } from '../errors.js';

/**
 * Fails on the first NaN/±Inf, saying how many there are: a model with them computes NaN
 * logits, so the error belongs at load time, where the tensor can be named.
 */
export function checkFinite(name: string, data: Float32Array | Int32Array, path: string): void {
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    // x - x is 0 for every finite x and NaN for NaN and ±Inf: one comparison per element.
    if (data[i] - data[i] !== 0) {
      first = i;
      break;
    }
  }
  if (first < 0) return;
  let count = 0;
  for (let i = first; i < data.length; i++) if (!Number.isFinite(data[i])) count++;
  throw new CheckpointError(
    `${path}: tensor '${name}' has ${count} non-finite value${count === 1 ? '' : 's'} of ${data.length} ` +
      `(first: ${data[first]} at flat index ${first}); expected finite weights. ` +
      'Pass allowNonFinite: true to load it anyway.',
  );
}
