/**
 * `streamCaches`: run a model over a stream of prompts, a batch at a time, and emit each batch's
 * logits and activation cache — disposed as soon as the subscriber is done with it.
 */
import * as tf from '@tensorflow/tfjs';
import type { Observable } from 'rxjs';
import type { CacheBatch, PromptInput, StreamCachesOptions, StreamModel } from './CacheBatch.js';
import { leasedBatches, positiveInt, type BatchContext } from './leasedBatches.js';
import { padRows } from './padRows.js';
import { preparePrompt, type PreparedPrompt } from './preparePrompt.js';
import type { PromptSource } from './promptReader.js';
import { InvalidArgumentError } from '../errors.js';
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';

/** The keys `streamCaches` accepts. */
export const STREAM_CACHES_KEYS = {
  batchSize: true,
  namesFilter: true,
  paddingSide: true,
  concurrency: true,
  prependBos: true,
  truncate: true,
  logits: true,
  finalBlockAtLastToken: true,
  groupByLength: true,
} as const satisfies OptionKeys<StreamCachesOptions>;

// Read here, asynchronously, so operators needing a row's prediction never read the logits themselves.
// The lease owns the argmax too: a stream torn down during the read frees it with the batch.
// Whether each row's logits there are finite comes with it: the argmax of NaN logits means nothing.
async function lastTokenArgmax(
  logits: tf.Tensor,
  lastPositions: readonly number[],
  lease: BatchContext['lease'],
): Promise<{ predictions: number[]; finite: boolean[] }> {
  const [b, pos, vocab] = logits.shape;
  // Logits of the last tokens only ([batch, 1, vocab]) hold each row's own last token already.
  // (No gather then: the reshape copies nothing.)
  const last = tf.tidy(() => {
    if (pos === 1) return tf.reshape(logits, [b, vocab]);
    const rows = lastPositions.map((p, i) => i * pos + p);
    return tf.gather(tf.reshape(logits, [b * pos, vocab]), tf.tensor1d(rows, 'int32'));
  });
  const top = lease.track(tf.argMax(last, -1));
  const finite = lease.track(tf.tidy(() => tf.all(tf.isFinite(last), -1)));
  last.dispose();
  try {
    const [ids, ok] = await Promise.all([top.data(), finite.data()]);
    return { predictions: Array.from(ids), finite: Array.from(ok, (x) => x !== 0) };
  } finally {
    top.dispose();
    finite.dispose();
  }
}

async function runBatch<P>(
  model: StreamModel,
  prepared: PreparedPrompt<P>[],
  { index, start, indices, lease }: BatchContext,
  options: StreamCachesOptions,
): Promise<CacheBatch<P>> {
  const side = options.paddingSide ?? 'right';
  const padded = padRows(
    prepared.map((p) => p.ids),
    side,
    model.tokenizer?.padTokenId ?? 0,
  );
  // Right padding needs no mask: causal attention keeps every real position exact (as TL). Logits
  // of the last tokens only take it all the same, as it says where each row ends; real positions
  // are computed the same with it or without.
  const last = options.logits === 'last';
  const { logits, cache } = await model.runWithCache(padded.ids, {
    namesFilter: options.namesFilter,
    attentionMask: side === 'left' || last ? padded.mask : undefined,
    ...(last ? { logits: 'last' as const } : {}),
    ...(options.finalBlockAtLastToken ? { finalBlockAtLastToken: true } : {}),
  });
  lease.track(logits);
  lease.track(cache);
  const { predictions, finite } = await lastTokenArgmax(logits, padded.lastPositions, lease);
  const tokens = lease.track(tf.tensor2d(padded.ids, undefined, 'int32'));
  const attentionMask = lease.track(tf.tensor2d(padded.mask, undefined, 'float32'));
  return {
    index,
    start,
    indices,
    size: prepared.length,
    records: prepared.map((p) => p.record),
    tokens,
    attentionMask,
    lengths: padded.lengths,
    lastPositions: padded.lastPositions,
    answers: prepared.map((p) => p.answer),
    predictions,
    finiteLogits: finite,
    paddingSide: side,
    logits,
    cache,
    get isDisposed() {
      return lease.isDisposed;
    },
    hold: () => lease.hold(),
    track: (t) => lease.track(t),
  };
}

/**
 * Runs `model` over `prompts` in batches and emits one `CacheBatch` per batch:
 * `{ index, records, tokens, attentionMask, logits, cache, … }`.
 *
 * **Ownership.** A batch is borrowed: its tensors are disposed once the subscriber's work on it is
 * done — right after its synchronous delivery, or, when an operator took `batch.hold()` during the
 * delivery, when the last hold is released. `useBatch`, `mapToLazy` → `materialize` and `keep` hold
 * the batch across their asynchronous work; `keep()` / `materialize()` copy results out.
 *
 * **Backpressure.** At most `concurrency` batches are alive (being built, or emitted and not yet
 * released), so the producer is never more than `concurrency` batches ahead of the consumer.
 * Iterables and async iterables are pulled only when a batch is started; an Observable of prompts
 * is subscribed once and its prompts queued (the tensors, not the prompts, are bounded).
 *
 * **Errors.** A bad prompt ends the stream with a `StreamError` naming its index, after the prompts
 * before it were emitted (and released); a failing forward pass names the batch and its prompts.
 * On error, completion or unsubscription every tensor the stream made is released. The stream
 * completes only after every batch it emitted was released.
 *
 * @param model a HookedTransformer (or anything with its `runWithCache`, `cfg`, `tokenizer`).
 * @param prompts an array, iterable, async iterable or Observable of text, token ids, or records
 *   `{ prompt, answer?, … }`.
 * @param options batch size, caching filter, padding side, concurrency and text options (see
 *   {@link StreamCachesOptions}).
 * @example
 * ```ts
 * import { HookedTransformer, mapToLazy, materialize, streamCaches } from 'lazylens';
 * import { lastValueFrom, toArray } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * // Left padding: every prompt ends at the last position, so posSlice -1 is each one's last token.
 * const lens = await lastValueFrom(
 *   streamCaches(model, ['the cat sit', 'a dog', 'the bird fly to the tree'], {
 *     batchSize: 2,
 *     paddingSide: 'left',
 *   }).pipe(
 *     mapToLazy((b) => b.cache.accumulatedResid({ posSlice: -1 })),
 *     materialize(),
 *     toArray(),
 *   ),
 * );
 * // [[3, 2, 128], [3, 1, 128]]: (0_pre, 1_pre, final_post) × prompts × d_model
 * lens.map((m) => m.shape);
 * model.dispose();
 * ```
 */
export function streamCaches<P extends PromptInput>(
  model: StreamModel,
  prompts: PromptSource<P>,
  options: StreamCachesOptions = {},
): Observable<CacheBatch<P>> {
  checkOptions(options, STREAM_CACHES_KEYS, 'streamCaches');
  const side = options.paddingSide ?? 'right';
  if (side !== 'left' && side !== 'right')
    throw new InvalidArgumentError(`paddingSide '${String(side)}' given; expected 'left' or 'right'.`);
  const logits: unknown = options.logits ?? 'all';
  if (logits !== 'all' && logits !== 'last')
    throw new InvalidArgumentError(
      `logits ${typeof logits === 'string' ? `'${logits}'` : `a ${typeof logits}`} given; expected 'all' or 'last'.`,
    );
  const final: unknown = options.finalBlockAtLastToken;
  if (final !== undefined && typeof final !== 'boolean')
    throw new InvalidArgumentError(`finalBlockAtLastToken given as ${typeof final}; expected a boolean.`);
  if (final && logits !== 'last')
    throw new InvalidArgumentError(
      `finalBlockAtLastToken given with logits '${logits}'; expected logits 'last' (the other positions' logits need the whole final block).`,
    );
  const groupBySize = positiveInt(options.groupByLength, 1, 'groupByLength');
  return leasedBatches<P, PreparedPrompt<P>, CacheBatch<P>>(
    prompts,
    { batchSize: options.batchSize, concurrency: options.concurrency, groupBySize },
    {
      prepare: (p) => preparePrompt(model, p, { prependBos: options.prependBos, truncate: options.truncate }),
      build: (prepared, ctx) => runBatch(model, prepared, ctx, options),
      sizeOf: (p) => p.ids.length,
    },
  );
}
