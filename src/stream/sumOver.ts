/**
 * `sumOver`: the elementwise sum of every batch's result, emitted when the stream completes.
 */
import { filter, map, pipe, reduce, type OperatorFunction } from 'rxjs';
import { addInto, fromNested, sumAxis, toNested, type Dense } from './dense.js';
import type { NestedNumbers } from './materialize.js';
import { valueOf, type Reducible } from './reducible.js';

/** Options of {@link sumOver}. */
export interface SumOverOptions {
  /** Also sum within each result along this axis (its batch axis, e.g. 1 for `[components, batch]`). */
  axis?: number;
}

/**
 * Sums batch results elementwise (after summing each along `axis`, if given) and emits the total
 * once, on completion; an empty stream emits nothing.
 * @param options `axis`: also sum within each result along this axis.
 * @example
 * ```ts
 * import { sumOver } from 'lazylens';
 * import { from, lastValueFrom } from 'rxjs';
 *
 * await lastValueFrom(from([[1, 2], [3, 4]]).pipe(sumOver()));                  // [4, 6]
 * await lastValueFrom(from([[[1, 2]], [[3, 4, 5]]]).pipe(sumOver({ axis: 1 })));   // [15]
 * ```
 */
export function sumOver(options: SumOverOptions = {}): OperatorFunction<Reducible, NestedNumbers> {
  return pipe(
    reduce<Reducible, Dense | undefined>((acc, item) => {
      let d = fromNested(valueOf(item));
      if (options.axis !== undefined) d = sumAxis(d, options.axis);
      if (!acc) return d;
      addInto(acc, d);
      return acc;
    }, undefined),
    filter((acc): acc is Dense => acc !== undefined),
    map(toNested),
  );
}
