/**
 * `mapToLazy`: turn each batch into a lazy analysis (a `Lazy` over its cache), holding the batch
 * until the analysis is materialized.
 */
import { map, type OperatorFunction } from 'rxjs';
import type { Lazy } from '../../graph/Lazy.js';
import type { LeasedBatch } from './BatchLease.js';
import { StreamError } from '../errors.js';
import { whereOf } from './useBatch.js';

/**
 * A lazy result and the batch it reads. It holds the batch: pass it on to `materialize()`, or call
 * `release()` yourself, or the batch is never disposed and the stream stalls.
 */
export interface LazyBatch<B extends LeasedBatch = LeasedBatch> {
  /** The batch the lazy result reads (held until released). */
  readonly batch: B;
  /** Index of the batch in the stream. */
  readonly index: number;
  /** The unmaterialized result for this batch. */
  readonly lazy: Lazy;
  /** Releases the hold on the batch (idempotent). */
  release(): void;
}

/**
 * Maps each batch to `fn(batch)`, a `Lazy` built over the batch's cache (nothing runs yet), and
 * holds the batch until the item is released — by `materialize()`, which runs it.
 * A throw in `fn` ends the stream with a `StreamError` naming the batch and its prompts.
 * @param fn builds the `Lazy` from the batch (e.g. `(b) => lastTokenDla(b)`).
 * @example
 * ```ts
 * import { HookedTransformer, lastTokenDla, mapToLazy, materialize, streamCaches } from 'lazylens';
 * import { lastValueFrom } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
 * const prompts = [{ prompt: 'cat dog tree sun cat dog tree', answer: 'sun' }];
 * const first = await lastValueFrom(
 *   streamCaches(model, prompts).pipe(
 *     mapToLazy((b) => lastTokenDla(b)),
 *     materialize(),
 *   ),
 * );
 * first.shape;   // [6, 1]: embed, pos_embed, 2 × (attn, mlp) for one prompt
 * model.dispose();
 * ```
 */
export function mapToLazy<B extends LeasedBatch>(fn: (batch: B) => Lazy): OperatorFunction<B, LazyBatch<B>> {
  return map((batch) => {
    const release = batch.hold();
    try {
      return { batch, index: batch.index, lazy: fn(batch), release };
    } catch (e) {
      release();
      throw StreamError.wrap(e, whereOf(batch));
    }
  });
}
