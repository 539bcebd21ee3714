/**
 * `concatOver`: every batch's result joined along its batch axis, emitted when the stream completes.
 */
import { filter, map, pipe, reduce, type OperatorFunction } from 'rxjs';
import { concatAxis, fromNested, toNested, type Dense } from './dense.js';
import type { NestedNumbers } from './materialize.js';
import { valueOf, type Reducible } from './reducible.js';

/** Options of {@link concatOver}. */
export interface ConcatOverOptions {
  /** The batch axis to join along (default 0; 1 for `[components, batch]`). */
  axis?: number;
}

/**
 * Concatenates batch results along `axis`, in stream order, and emits the whole once, on
 * completion; an empty stream emits nothing.
 * @param options `axis`: the batch axis to join along (default 0).
 * @example
 * ```ts
 * import { concatOver } from 'lazylens';
 * import { from, lastValueFrom } from 'rxjs';
 *
 * await lastValueFrom(from([[[1], [2]], [[3]]]).pipe(concatOver()));             // [[1], [2], [3]]
 * await lastValueFrom(from([[[1, 2]], [[3]]]).pipe(concatOver({ axis: 1 })));     // [[1, 2, 3]]
 * ```
 */
export function concatOver(options: ConcatOverOptions = {}): OperatorFunction<Reducible, NestedNumbers> {
  const axis = options.axis ?? 0;
  return pipe(
    reduce<Reducible, Dense[]>((parts, item) => {
      parts.push(fromNested(valueOf(item)));
      return parts;
    }, []),
    filter((parts) => parts.length > 0),
    map((parts) => toNested(concatAxis(parts, axis))),
  );
}
