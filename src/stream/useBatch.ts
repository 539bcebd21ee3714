/**
 * `useBatch`: do asynchronous work on each batch while it is alive, one batch at a time, in order.
 */
import {
  catchError,
  concatMap,
  defer,
  from,
  isObservable,
  map,
  tap,
  throwError,
  type MonoTypeOperatorFunction,
  type Observable,
  type OperatorFunction,
} from 'rxjs';
import type { LeasedBatch } from './BatchLease.js';
import { StreamError, type StreamErrorWhere } from '../errors.js';

/** Where a batch sits in the stream, for error messages. */
export function whereOf(batch: LeasedBatch): StreamErrorWhere {
  return { batchIndex: batch.index, start: batch.start, size: batch.size, indices: batch.indices };
}

function toObservable<R>(x: R | PromiseLike<R> | Observable<R>): Observable<R> {
  if (isObservable(x)) return x;
  if (x !== null && typeof x === 'object' && typeof (x as PromiseLike<R>).then === 'function')
    return from(x as PromiseLike<R>);
  return from([x as R]);
}

/**
 * Maps each batch through `fn` (a value — arrays included, as one value —, a promise, or an
 * observable whose values are all emitted) while holding the batch: its tensors stay alive until `fn`'s work completes, then are
 * disposed. Batches are processed one at a time, in order. What `fn` returns must not refer to the
 * batch's tensors (copy them out: `await t.array()`, `t.clone()`).
 * A throw or rejection in `fn` ends the stream with a `StreamError` naming the batch and its prompts.
 * @param fn the work on a batch: returns a value, a promise or an observable.
 * @example
 * ```ts
 * import { HookedTransformer, streamCaches, useBatch } from 'lazylens';
 * import { lastValueFrom, toArray } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const widths = await lastValueFrom(
 *   streamCaches(model, ['cat dog tree', 'cat'], { batchSize: 1 }).pipe(
 *     useBatch(async (b) => (await b.tokens.array())[0].length),
 *     toArray(),
 *   ),
 * );
 * widths;   // [4, 2]: BOS + 'cat', 'dog', 'tree'; BOS + 'cat'
 * model.dispose();
 * ```
 */
export function useBatch<B extends LeasedBatch, R>(
  fn: (batch: B) => R | PromiseLike<R> | Observable<R>,
): OperatorFunction<B, R> {
  return (source) =>
    source.pipe(
      // The hold is taken while the batch is delivered; concatMap may start the work later.
      map((batch) => ({ batch, release: batch.hold() })),
      concatMap(({ batch, release }) =>
        defer(() => toObservable(fn(batch))).pipe(releaseAfter(release), catchWhere(batch)),
      ),
    );
}

/**
 * Calls `release` when the work completes or is cancelled — not when it fails: an error here
 * always tears the stream down, which disposes the batch, and releasing first would let the
 * producer start another batch on its way down.
 */
export function releaseAfter<T>(release: () => void): MonoTypeOperatorFunction<T> {
  return tap({ complete: release, unsubscribe: release });
}

/** Re-throws an error as a `StreamError` naming `batch`. */
export function catchWhere<T>(batch: LeasedBatch): MonoTypeOperatorFunction<T> {
  return catchError((e: unknown) => throwError(() => StreamError.wrap(e, whereOf(batch))));
}
