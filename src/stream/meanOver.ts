/**
 * `meanOver`: the mean of batch results over every prompt, emitted when the stream completes.
 */
import { filter, map, pipe, reduce, type OperatorFunction } from 'rxjs';
import { addInto, axisOf, fromNested, sumAxis, toNested, type Dense } from './dense.js';
import type { NestedNumbers } from './materialize.js';
import { sizeOf, valueOf, type Reducible } from './reducible.js';

/** Options of {@link meanOver}. */
export interface MeanOverOptions {
  /**
   * The batch axis of each result (e.g. 1 for `[components, batch]`): the mean is over every row of
   * every batch. Without it each result is taken as one batch's mean, weighted by its `size`.
   */
  axis?: number;
}

interface Acc {
  sum: Dense;
  count: number;
}

/**
 * The mean over prompts: with `axis`, Σ rows / number of rows across all batches; without, the
 * batch means weighted by batch size (`size`, 1 for bare arrays). Emits once, on completion; an
 * empty stream emits nothing.
 * @param options `axis`: average rows along this axis instead of weighting batches by `size`.
 * @example
 * ```ts
 * import { meanOver } from 'lazylens';
 * import { from, lastValueFrom } from 'rxjs';
 *
 * // [1 component, batch] per batch
 * const batches = [{ value: [[1, 3]], size: 2 }, { value: [[5]], size: 1 }];
 * await lastValueFrom(from(batches).pipe(meanOver({ axis: 1 })));   // [3]
 * const weighted = [{ value: 2, size: 3 }, { value: 6, size: 1 }];
 * await lastValueFrom(from(weighted).pipe(meanOver()));             // 3
 * ```
 */
export function meanOver(options: MeanOverOptions = {}): OperatorFunction<Reducible, NestedNumbers> {
  return pipe(
    reduce<Reducible, Acc | undefined>((acc, item) => {
      let d = fromNested(valueOf(item));
      let n = sizeOf(item);
      let w = n;
      if (options.axis !== undefined) {
        n = d.shape[axisOf(d.shape, options.axis)];
        d = sumAxis(d, options.axis);
        w = 1;
      }
      if (!acc) {
        const sum: Dense = { shape: d.shape, data: new Float64Array(d.data.length) };
        acc = { sum, count: 0 };
      }
      addInto(acc.sum, d, w);
      acc.count += n;
      return acc;
    }, undefined),
    filter((acc): acc is Acc => acc !== undefined),
    map(({ sum, count }) => toNested({ shape: sum.shape, data: sum.data.map((v) => v / count) })),
  );
}
