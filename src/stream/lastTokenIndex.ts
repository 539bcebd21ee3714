/**
 * Where each prompt of a padded batch ends: the last position its attention mask marks real.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';

/**
 * The index of each row's last real token, from an attention mask [batch, pos] (1 = token,
 * 0 = padding), for left or right padding alike. The mask is host data: read a mask tensor first
 * (`await mask.array()`), since the library never reads a tensor synchronously.
 * @param attentionMask mask rows [batch][pos] (1 = token, 0 = padding).
 * @example
 * ```ts
 * import { lastTokenIndex } from 'lazylens';
 *
 * lastTokenIndex([[1, 1, 1, 0], [1, 1, 1, 1]]);   // [2, 3]: right padding
 * lastTokenIndex([[0, 1, 1, 1], [1, 1, 1, 1]]);   // [3, 3]: left padding
 * ```
 * @throws InvalidArgumentError for a row with no real token.
 */
export function lastTokenIndex(attentionMask: readonly (readonly number[])[]): number[] {
  if ((attentionMask as unknown) instanceof tf.Tensor) {
    throw new InvalidArgumentError(
      'lastTokenIndex given a tensor; expected mask rows: read it first with `await mask.array()`.',
    );
  }
  return attentionMask.map((row, b) => {
    const last = row.findLastIndex((m) => m !== 0);
    if (last < 0)
      throw new InvalidArgumentError(`attentionMask row ${b} has no real token; expected at least one.`);
    return last;
  });
}
