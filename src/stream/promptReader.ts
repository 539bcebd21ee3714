/**
 * Reads prompts from whatever the user has — an array, an iterable, an async iterable or an
 * Observable — a batch at a time, on demand. Iterables are pulled only when a batch is asked
 * for; an Observable pushes, so its prompts are queued (prompts are small; the tensors made
 * from them are what the stream bounds). Answers come through a callback, synchronously when
 * they can (arrays, iterables, already-queued values), so streams stay testable on virtual time.
 */
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';

/** Prompts from an array, an iterable, an async iterable or an Observable. */
export type PromptSource<P> = Iterable<P> | AsyncIterable<P> | Observable<P>;

/** Up to `n` items; fewer only at the end or on an error (then `error` holds it). */
export interface ReadResult<P> {
  items: P[];
  /** Nothing more will come. */
  done: boolean;
  /** Set when reading failed after `items`. */
  error?: { value: unknown };
}

export interface PromptReader<P> {
  /** Calls `cb` once with the next `n` items (or fewer at the end). One read at a time. */
  read(n: number, cb: (r: ReadResult<P>) => void): void;
  /** Stops reading and releases the source (iterator `return`, unsubscribe). */
  close(): void;
}

/** A reader over `source`; nothing is pulled or subscribed until the first `read`. */
export function openReader<P>(source: PromptSource<P>): PromptReader<P> {
  if (typeof source === 'string') {
    throw new InvalidArgumentError(
      'Prompts given as one string; expected an array, iterable, async iterable or Observable of prompts.',
    );
  }
  if (isObservable(source)) return observableReader(source);
  if (source !== null && typeof source === 'object') {
    if (Symbol.asyncIterator in source) return asyncReader(source);
    if (Symbol.iterator in source) return syncReader(source);
  }
  throw new InvalidArgumentError(
    `Prompts given as ${typeof source}; expected an array, iterable, async iterable or Observable.`,
  );
}

function syncReader<P>(source: Iterable<P>): PromptReader<P> {
  let it: Iterator<P> | undefined;
  let ended = false;
  return {
    read(n, cb) {
      const items: P[] = [];
      try {
        it ??= source[Symbol.iterator]();
        while (items.length < n) {
          const r = it.next();
          if (r.done) {
            ended = true;
            break;
          }
          items.push(r.value);
        }
      } catch (e) {
        ended = true;
        cb({ items, done: true, error: { value: e } });
        return;
      }
      cb({ items, done: ended });
    },
    close() {
      if (!ended && it) {
        ended = true;
        it.return?.();
      }
    },
  };
}

function asyncReader<P>(source: AsyncIterable<P>): PromptReader<P> {
  let it: AsyncIterator<P> | undefined;
  let ended = false;
  const pull = async (n: number): Promise<ReadResult<P>> => {
    const items: P[] = [];
    try {
      it ??= source[Symbol.asyncIterator]();
      while (items.length < n && !ended) {
        const r = await it.next();
        if (r.done) ended = true;
        else items.push(r.value);
      }
    } catch (e) {
      ended = true;
      return { items, done: true, error: { value: e } };
    }
    return { items, done: ended };
  };
  return {
    read(n, cb) {
      void pull(n).then(cb);
    },
    close() {
      if (!ended && it) {
        ended = true;
        // A generator mid-`next` queues the return; its rejection (if any) has nowhere to go.
        Promise.resolve(it.return?.()).catch(() => undefined);
      }
    },
  };
}

function observableReader<P>(source: Observable<P>): PromptReader<P> {
  const queue: P[] = [];
  let subscribed = false;
  let sub: Subscription | undefined;
  let ended = false;
  let closed = false;
  let error: { value: unknown } | undefined;
  let pending: { n: number; cb: (r: ReadResult<P>) => void } | undefined;
  const answer = (): void => {
    if (!pending || (queue.length < pending.n && !ended)) return;
    const { n, cb } = pending;
    pending = undefined;
    const items = queue.splice(0, n);
    const done = ended && queue.length === 0;
    cb(done && error ? { items, done, error } : { items, done });
  };
  return {
    read(n, cb) {
      pending = { n, cb };
      if (subscribed) return answer();
      subscribed = true;
      sub = source.subscribe({
        next: (v) => {
          queue.push(v);
          answer();
        },
        error: (e: unknown) => {
          ended = true;
          error = { value: e };
          answer();
        },
        complete: () => {
          ended = true;
          answer();
        },
      });
      // Unsubscribed while the source was still emitting synchronously.
      if (closed) sub.unsubscribe();
    },
    close() {
      closed = true;
      pending = undefined;
      sub?.unsubscribe();
    },
  };
}
