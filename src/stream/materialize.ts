/**
 * `materialize`: run each batch's lazy analysis and copy the result out to arrays, then let the
 * batch go.
 */
import { concatMap, defer, type OperatorFunction } from 'rxjs';
import type { LeasedBatch } from './BatchLease.js';
import type { LazyBatch } from './mapToLazy.js';
import { catchWhere, releaseAfter } from './useBatch.js';

/** Nested arrays of numbers, as `tf.Tensor.array()` gives. */
export type NestedNumbers = number | NestedNumbers[];

/** A materialized result: plain arrays, owned by whoever receives it. */
export interface Materialized<B extends LeasedBatch = LeasedBatch> {
  /** Index of the batch in the stream. */
  readonly index: number;
  /** Stream index of the batch's first prompt. */
  readonly start: number;
  /** Stream index of each of the batch's prompts, row by row (see `LeasedBatch.indices`). */
  readonly indices: readonly number[];
  /** Prompts in the batch (the weight `meanOver` gives it). */
  readonly size: number;
  /** The batch's prompts (`records` of a CacheBatch), when it has them. */
  readonly records: B extends {
    /** The batch's prompts. */
    records: infer R;
  }
    ? R
    : undefined;
  /** Stack labels of the lazy result (dim 0), when it has them. */
  readonly labels?: readonly string[];
  /** Shape of `value`. */
  readonly shape: readonly number[];
  /** The result as nested arrays. */
  readonly value: NestedNumbers;
}

/**
 * Materializes each `LazyBatch` (from `mapToLazy`) to arrays, one batch at a time and in order,
 * and releases its batch — its tensors are disposed once the arrays are read.
 * @example
 * ```ts
 * import { HookedTransformer, mapToLazy, materialize, streamCaches } from 'lazylens';
 * import { lastValueFrom } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
 * const m = await lastValueFrom(
 *   streamCaches(model, ['the cat and the dog']).pipe(
 *     mapToLazy((b) => b.cache.decomposeResid({ posSlice: -1 })),
 *     materialize(),
 *   ),
 * );
 * m.labels;   // ['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out']
 * model.dispose();
 * ```
 */
export function materialize<B extends LeasedBatch>(): OperatorFunction<LazyBatch<B>, Materialized<B>> {
  return concatMap((item) =>
    defer(async (): Promise<Materialized<B>> => {
      const value = (await item.lazy.array()) as NestedNumbers;
      const b = item.batch as LeasedBatch & { records?: unknown };
      return {
        index: b.index,
        start: b.start,
        indices: b.indices,
        size: b.size,
        records: b.records as Materialized<B>['records'],
        labels: item.lazy.labels,
        shape: item.lazy.shape,
        value,
      };
    }).pipe(
      releaseAfter(() => item.release()),
      catchWhere(item.batch),
    ),
  );
}
