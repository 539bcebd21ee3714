/**
 * The engine under `streamCaches`: reads prompts a batch at a time, builds each batch, emits it,
 * and disposes it when its last hold is released (see `BatchLease`). At most `concurrency`
 * batches are alive — built or being built, and not yet disposed — so a slow consumer holds the
 * producer back and memory stays bounded. It knows nothing of models: `build` makes the batch.
 */
import { isObservable, Observable, throwError, type ObservableInput, type Subscription } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import { BatchLease } from './BatchLease.js';
import { openReader, type PromptSource } from './promptReader.js';
import { StreamError } from '../errors.js';

export interface BatchingOptions {
  /** Prompts per batch (the last batch may be smaller). Default 8. */
  batchSize?: number;
  /** Batches alive at once: the producer runs at most this far ahead of the consumer. Default 1. */
  concurrency?: number;
  /**
   * Batches per window within which prompts are put in order of the builder's `sizeOf` before
   * they are cut into batches, so that each batch holds prompts of like size. Default 1: the
   * source's order, each batch its next `batchSize` prompts.
   */
  groupBySize?: number;
}

/** What `build` is told about the batch it makes. */
export interface BatchContext {
  /** Batch number, from 0. */
  index: number;
  /** Stream index of the batch's first prompt (its first row). */
  start: number;
  /** Stream index of each prompt, row by row (start, start + 1, … unless grouped by size). */
  indices: readonly number[];
  /** The batch's lifetime: `track` what it owns, expose `hold` on the batch. */
  lease: BatchLease;
}

export interface BatchBuilder<P, Q, B> {
  /**
   * Checks and converts one prompt as it is read (e.g. tokenizes it). A throw ends the stream
   * with an error naming the prompt; the prompts before it are still built and emitted.
   */
  prepare: (prompt: P, promptIndex: number) => Q;
  /** Makes the batch from prepared prompts: a value, a promise or an observable (first value). */
  build: (prepared: Q[], ctx: BatchContext) => B | ObservableInput<B>;
  /** What `groupBySize` orders prepared prompts by (e.g. their token count); needed with it. */
  sizeOf?: (prepared: Q) => number;
}

/** A positive integer option, or its default. */
export function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new InvalidArgumentError(`${what} ${String(value)} given; expected a positive integer.`);
  return v;
}

type Outcome<B> = { value: B } | { error: unknown };

/** Subscribes to what `build` returned and calls back once; returns how to cancel. */
function await1<B>(x: B | ObservableInput<B>, cb: (o: Outcome<B>) => void): Subscription | undefined {
  if (isObservable(x)) {
    let got = false;
    let sub: Subscription | undefined = undefined;
    sub = x.subscribe({
      next: (value) => {
        if (got) return;
        got = true;
        cb({ value });
        sub?.unsubscribe();
      },
      error: (error: unknown) => cb({ error }),
      complete: () => {
        if (!got) cb({ error: new Error('the batch builder completed without a batch') });
      },
    });
    if (got) sub.unsubscribe();
    return sub;
  }
  if (x !== null && typeof x === 'object' && typeof (x as PromiseLike<B>).then === 'function') {
    (x as PromiseLike<B>).then(
      (value) => cb({ value }),
      (error: unknown) => cb({ error }),
    );
    return undefined;
  }
  cb({ value: x as B });
  return undefined;
}

/**
 * An Observable of batches built from `source`. It completes (or fails) only after every batch
 * it emitted was released, so work downstream that holds a batch finishes first; on
 * unsubscription every live batch is disposed at once.
 */
export function leasedBatches<P, Q, B>(
  source: PromptSource<P>,
  options: BatchingOptions,
  builder: BatchBuilder<P, Q, B>,
): Observable<B> {
  const batchSize = positiveInt(options.batchSize, 8, 'batchSize');
  const concurrency = positiveInt(options.concurrency, 1, 'concurrency');
  const window = positiveInt(options.groupBySize, 1, 'groupBySize');
  const { sizeOf } = builder;
  if (window > 1 && !sizeOf) throw new Error('internal: groupBySize needs the builder to say sizeOf');
  const bySize = (a: { prepared: Q }, b: { prepared: Q }): number =>
    sizeOf ? sizeOf(a.prepared) - sizeOf(b.prepared) : 0;
  return new Observable<B>((subscriber) => {
    const reader = openReader(source);
    const alive = new Set<BatchLease>();
    let busy = false; // reading or building a batch
    let finished = false; // no batch will be started any more
    let failure: { error: unknown } | undefined;
    let closed = false;
    let nextIndex = 0;
    let nextStart = 0;
    // Prepared prompts read ahead in a window, in size order, and how the window's read ended.
    const queued: { prepared: Q; promptIndex: number }[] = [];
    let queueEnd: { done: boolean; error?: unknown } = { done: false };
    let pumping = false;
    let again = false;
    let building: Subscription | undefined;

    const fail = (error: unknown): void => {
      finished = true;
      failure ??= { error };
    };

    // Complete or fail once nothing is being built and every emitted batch was released.
    const settle = (): void => {
      if (closed || !finished || busy || alive.size > 0) return;
      closed = true;
      if (failure) subscriber.error(failure.error);
      else subscriber.complete();
    };

    const emit = (prepared: Q[], index: number, indices: number[]): void => {
      const start = indices[0];
      const lease = new BatchLease(index, () => {
        alive.delete(lease);
        pump();
      });
      alive.add(lease);
      const own = lease.hold();
      let made: B | ObservableInput<B>;
      try {
        made = builder.build(prepared, { index, start, indices, lease });
      } catch (error) {
        made = throwError(() => error);
      }
      building = await1(made, (o) => {
        building = undefined;
        busy = false;
        if (closed) {
          lease.dispose();
          return;
        }
        try {
          if ('error' in o)
            fail(StreamError.wrap(o.error, { batchIndex: index, start, size: prepared.length, indices }));
          else subscriber.next(o.value);
        } finally {
          own(); // the batch is disposed here unless something downstream took a hold
        }
        pump();
      });
    };

    /**
     * Reads up to `count` prompts and prepares them, each with its stream index; `error` is the
     * source's or the first failing prompt's (the prompts before it are kept).
     */
    const readPrepared = (
      count: number,
      index: number,
      done: (items: { prepared: Q; promptIndex: number }[], end: { done: boolean; error?: unknown }) => void,
    ): void => {
      const first = nextStart;
      reader.read(count, (r) => {
        if (closed) return;
        const items: { prepared: Q; promptIndex: number }[] = [];
        let error: unknown = r.error
          ? new StreamError({ promptIndex: first + r.items.length }, r.error.value)
          : undefined;
        for (const item of r.items) {
          const promptIndex = first + items.length;
          try {
            items.push({ prepared: builder.prepare(item, promptIndex), promptIndex });
          } catch (e) {
            // Read ahead for a window, a prompt belongs to no batch yet.
            error = StreamError.wrap(e, window === 1 ? { promptIndex, batchIndex: index } : { promptIndex });
            break;
          }
        }
        nextStart += items.length;
        done(items, { done: r.done || error !== undefined, error });
      });
    };

    // Starts the next batch from `items` (taken from the front); ends the stream after it when
    // `end` says the source is done or failed and nothing else is queued.
    const startFrom = (
      items: { prepared: Q; promptIndex: number }[],
      end: { done: boolean; error?: unknown },
      index: number,
    ): void => {
      if (end.done) finished = true;
      if (end.error !== undefined) fail(end.error);
      if (items.length === 0) {
        busy = false;
        nextIndex--;
        pump();
        return;
      }
      emit(
        items.map((i) => i.prepared),
        index,
        items.map((i) => i.promptIndex),
      );
    };

    const startBatch = (): void => {
      busy = true;
      const index = nextIndex++;
      if (window === 1) {
        readPrepared(batchSize, index, (items, end) => startFrom(items, end, index));
        return;
      }
      const take = (): void => {
        const items = queued.splice(0, batchSize);
        startFrom(items, queued.length === 0 ? queueEnd : { done: false }, index);
      };
      if (queued.length > 0) {
        take();
        return;
      }
      readPrepared(batchSize * window, index, (items, end) => {
        // A stable sort: prompts of equal size keep the source's order.
        queued.push(...items.sort(bySize));
        queueEnd = end;
        take();
      });
    };

    // Trampolined: a synchronous source and consumer would otherwise recurse once per batch.
    function pump(): void {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          if (!closed && !finished && !busy && alive.size < concurrency) startBatch();
        } while (again);
      } finally {
        pumping = false;
      }
      settle();
    }

    pump();
    return () => {
      closed = true;
      building?.unsubscribe();
      reader.close();
      for (const lease of [...alive]) lease.dispose();
    };
  });
}
