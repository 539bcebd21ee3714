/**
 * `keep`: take tensors out of a batch so they outlive it. The batch's own tensors are disposed when
 * the subscriber is done with it; what `keep` emits is a clone the subscriber owns.
 */
import * as tf from '@tensorflow/tfjs';
import type { OperatorFunction } from 'rxjs';
import { Lazy } from '../../graph/Lazy.js';
import type { LeasedBatch } from './BatchLease.js';
import { useBatch } from './useBatch.js';

/** A `Lazy` is materialized to a tensor; tensors (in arrays and plain objects) are cloned. */
export type KeptValue<T> = T extends Lazy
  ? tf.Tensor
  : T extends tf.Tensor
    ? T
    : T extends object
      ? { [K in keyof T]: KeptValue<T[K]> }
      : T;

/** A value kept from a batch. The subscriber owns every tensor in `value` and must dispose it. */
export interface Kept<T> {
  /** Index of the batch in the stream. */
  readonly index: number;
  /** Stream index of the batch's first prompt. */
  readonly start: number;
  /** Stream index of each of the batch's prompts, row by row (see `LeasedBatch.indices`). */
  readonly indices: readonly number[];
  /** Prompts in the batch. */
  readonly size: number;
  /** The kept value: every `Lazy` in it materialized to a tensor the subscriber owns. */
  readonly value: KeptValue<T>;
}

/** Clones every tensor in `x` (arrays and plain objects are walked); the rest is copied as is. */
function cloneOut(x: unknown, made: tf.Tensor[]): unknown {
  if (x instanceof tf.Tensor) {
    const t = tf.clone(x as tf.Tensor);
    made.push(t);
    return t;
  }
  if (x instanceof Lazy) {
    const t = x.tensor();
    made.push(t);
    return t;
  }
  if (Array.isArray(x)) return x.map((v) => cloneOut(v, made));
  if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, cloneOut(v, made)]));
  }
  return x;
}

/**
 * Emits `select(batch)` with its tensors cloned (a `Lazy` materialized), owned by the subscriber:
 * the batch itself is still disposed as usual. `select` should return the batch's own tensors
 * (`b.logits`, `b.cache.get('resid_post', 1)`), a `Lazy` over them, or arrays/objects of these.
 * A clone shares the data of its source, so keeping costs no copy — only the lifetime.
 * @param select picks what to keep from the batch: tensors, a `Lazy`, or arrays/objects of them.
 * @example
 * ```ts
 * import { HookedTransformer, keep, streamCaches } from 'lazylens';
 * import { lastValueFrom, toArray } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const prompts = [[355, 1], [355, 2, 3]];   // token ids (355 is BOS), used as given
 * const kept = await lastValueFrom(
 *   streamCaches(model, prompts, { batchSize: 1 }).pipe(
 *     keep((b) => b.logits),
 *     toArray(),
 *   ),
 * );
 * kept.map((k) => k.value.shape);   // [[1, 2, 356], [1, 3, 356]]: [batch, pos, d_vocab]
 * kept.forEach((k) => k.value.dispose());
 * model.dispose();
 * ```
 */
export function keep<B extends LeasedBatch, T>(
  select: (batch: B) => T | PromiseLike<T>,
): OperatorFunction<B, Kept<T>> {
  return useBatch(async (batch: B): Promise<Kept<T>> => {
    const made: tf.Tensor[] = [];
    try {
      const value = cloneOut(await select(batch), made) as KeptValue<T>;
      return { index: batch.index, start: batch.start, indices: batch.indices, size: batch.size, value };
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
  });
}
