// The batch engine on virtual time: order, completion, errors, backpressure and when
// each batch's tensors are disposed.
import { map, of, take, timer, toArray, from, lastValueFrom, throwError, concat } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect, it } from 'vitest';
import { describeBackends } from '../helpers/backends.js';
import { StreamError } from '../../src/errors.js';
import { useBatch } from '../../src/stream/useBatch.js';
import { fakeBatches, newLog, range } from './fakeBatches.js';

const newScheduler = (): TestScheduler => new TestScheduler((a, e) => expect(a).toEqual(e));

describeBackends('leasedBatches on virtual time', () => {
  it('emits batches in order and completes after the last one is released', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(7), { batchSize: 2 }, log).pipe(
        useBatch((b) => timer(10).pipe(map(() => b.items.join()))),
      );
      expectObservable(out).toBe('10ms a 9ms b 9ms c 9ms (d|)', { a: '0,1', b: '2,3', c: '4,5', d: '6' });
    });
    expect(log.disposed).toBe(4);
  });

  it('disposes each batch when the work that holds it completes, and builds the next then', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(6), { batchSize: 2 }, log).pipe(
        useBatch((b) => timer(5 * (b.index + 1)).pipe(map(() => b.isDisposed))),
      );
      expectObservable(out).toBe('5ms a 9ms b 14ms (c|)', { a: false, b: false, c: false });
    });
    expect(log.events).toEqual([
      '0 build 0',
      '5 dispose 0',
      '5 build 1',
      '15 dispose 1',
      '15 build 2',
      '30 dispose 2',
    ]);
  });

  it('disposes a batch as soon as its synchronous delivery returns when nothing holds it', () => {
    const s = newScheduler();
    const log = newLog();
    const seen: boolean[] = [];
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(4), { batchSize: 2 }, log).pipe(
        map((b) => {
          seen.push(b.isDisposed);
          return b;
        }),
      );
      expectObservable(out.pipe(map((b) => b.isDisposed))).toBe('(ab|)', { a: false, b: false });
    });
    expect(seen).toEqual([false, false]);
    expect(log.events).toEqual(['0 build 0', '0 dispose 0', '0 build 1', '0 dispose 1']);
  });

  it.each([1, 2, 3])('keeps the producer at most concurrency = %i batches ahead of a slow consumer', (c) => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(20), { batchSize: 2, concurrency: c, buildMs: 1 }, log).pipe(
        useBatch((b) => timer(10).pipe(map(() => b.index))),
        toArray(),
      );
      // With room for a second batch, building (1 ms) overlaps the consumer's 10 ms per batch.
      expectObservable(out).toBe(c === 1 ? '110ms (a|)' : '101ms (a|)', { a: range(10) });
    });
    expect(log.maxAlive).toBe(c);
    expect(log.disposed).toBe(10);
  });

  it('pulls from an iterable only when a batch is started', () => {
    const s = newScheduler();
    let pulled = 0;
    function* prompts(): Generator<number> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const pulledWhenSeen: number[] = [];
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, prompts(), { batchSize: 4, concurrency: 2 }).pipe(
        useBatch((b) => {
          pulledWhenSeen.push(pulled);
          return timer(10).pipe(map(() => b.index));
        }),
        take(3),
      );
      expectObservable(out).toBe('10ms a 9ms b 9ms (c|)', { a: 0, b: 1, c: 2 });
    });
    // Batch 0 reaches the consumer as soon as its 4 prompts are read; batch 1 is read ahead
    // (concurrency 2); after that one batch is read per batch released.
    expect(pulledWhenSeen).toEqual([4, 12, 16]);
    expect(pulled).toBe(16);
  });

  it('pulls from an async iterable only as fast as a slow consumer takes batches', async () => {
    const s = newScheduler();
    let pulled = 0;
    async function* prompts(): AsyncGenerator<number> {
      for (let i = 0; i < 1000; i++) {
        await Promise.resolve();
        pulled++;
        yield i;
      }
    }
    const pulledWhenDone: number[] = [];
    await lastValueFrom(
      fakeBatches(s, prompts(), { batchSize: 5, concurrency: 2 }).pipe(
        useBatch(async () => {
          await new Promise((r) => setTimeout(r, 5));
          pulledWhenDone.push(pulled);
        }),
        take(4),
      ),
    );
    // While batch k is consumed, batch k + 1 at most has been read ahead.
    pulledWhenDone.forEach((n, k) => expect(n).toBeLessThanOrEqual(5 * (k + 2)));
    expect(pulled).toBeLessThanOrEqual(30);
  });

  it('batches an Observable of prompts arriving over time', () => {
    const s = newScheduler();
    s.run(({ cold, expectObservable }) => {
      const prompts = cold('a-b-c-d-e|', { a: 1, b: 2, c: 3, d: 4, e: 5 });
      const out = fakeBatches(s, prompts, { batchSize: 2 }).pipe(map((b) => b.items.join()));
      expectObservable(out).toBe('--a---b--(c|)', { a: '1,2', b: '3,4', c: '5' });
    });
  });

  it('ends with an error naming a bad prompt after emitting and releasing everything before it', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, [0, 1, 2, 3, 4, -5, 6, 7], { batchSize: 2, concurrency: 2 }, log).pipe(
        useBatch((b) => timer(10).pipe(map(() => b.items.join()))),
      );
      const error = new StreamError({ promptIndex: 5, batchIndex: 2 }, new Error('negative prompt -5 at 5'));
      expectObservable(out).toBe('10ms a 9ms b 9ms (c#)', { a: '0,1', b: '2,3', c: '4' }, error);
    });
    expect(log.disposed).toBe(log.built);
  });

  it('names the prompt when reading the prompts fails', async () => {
    async function* prompts(): AsyncGenerator<number> {
      await Promise.resolve();
      yield 0;
      yield 1;
      yield 2;
      throw new Error('disk on fire');
    }
    const s = newScheduler();
    const got: string[] = [];
    const err = await lastValueFrom(
      fakeBatches(s, prompts(), { batchSize: 2 }).pipe(
        map((b) => b.items.join()),
        map((x) => got.push(x)),
      ),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).promptIndex).toBe(3);
    expect((err as Error).message).toBe('prompt 3: disk on fire');
    expect(got).toEqual(['0,1', '2']);
  });

  it('names the batch when a consumer throws, releasing every tensor and keeping what came before', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(10), { batchSize: 2, concurrency: 2 }, log).pipe(
        useBatch((b) => {
          if (b.index === 2) throw new Error('consumer broke');
          return timer(10).pipe(map(() => b.index));
        }),
      );
      const error = new StreamError({ batchIndex: 2, start: 4, size: 2 }, new Error('consumer broke'));
      expectObservable(out).toBe('10ms a 9ms (b#)', { a: 0, b: 1 }, error);
    });
    expect(log.disposed).toBe(log.built);
    expect(log.built).toBe(4); // batches 0–2, and batch 3 built ahead (concurrency 2)
  });

  it('passes on an error thrown in a plain rxjs operator unchanged, releasing every tensor', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(10), { batchSize: 2, concurrency: 3, buildMs: 2 }, log).pipe(
        map((b) => {
          if (b.index === 2) throw new Error('plain map broke');
          return b.index;
        }),
      );
      expectObservable(out).toBe('--a-b-#', { a: 0, b: 1 }, new Error('plain map broke'));
    });
    expect(log.disposed).toBe(log.built);
  });

  it('releases every live batch when the subscriber unsubscribes midway', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, range(100), { batchSize: 2, concurrency: 3 }, log).pipe(
        useBatch((b) => timer(10).pipe(map(() => b.index))),
      );
      expectObservable(out, '^ 25ms !').toBe('10ms a 9ms b', { a: 0, b: 1 });
    });
    expect(log.built).toBe(5);
    expect(log.disposed).toBe(5);
  });

  it('handles a failing builder as an error naming the batch and its prompts', () => {
    const s = newScheduler();
    s.run(({ expectObservable }) => {
      const prompts = concat(
        of(1, 2),
        throwError(() => new Error('late')),
      );
      const out = fakeBatches(s, prompts, { batchSize: 4 }).pipe(map((b) => b.items.join()));
      expectObservable(out).toBe(
        '(a#)',
        { a: '1,2' },
        new StreamError({ promptIndex: 2 }, new Error('late')),
      );
    });
  });

  it('groupBySize orders each window of prompts by size, stably, and says which prompt each row is', async () => {
    const s = newScheduler();
    const prompts = [5, 1, 4, 1, 6, 3, 9, 8];
    const batches = await lastValueFrom(
      fakeBatches(s, prompts, { batchSize: 2, groupBySize: 3 }).pipe(
        map((b) => ({ items: b.items, indices: [...b.indices], start: b.start })),
        toArray(),
      ),
    );
    // A window of 3 batches (6 prompts), then what is left (2).
    expect(batches).toEqual([
      { items: [1, 1], indices: [1, 3], start: 1 },
      { items: [3, 4], indices: [5, 2], start: 5 },
      { items: [5, 6], indices: [0, 4], start: 0 },
      { items: [8, 9], indices: [7, 6], start: 7 },
    ]);
    for (const b of batches) expect(b.items).toEqual(b.indices.map((i) => prompts[i]));
    const plain = await lastValueFrom(
      fakeBatches(s, prompts, { batchSize: 3 }).pipe(
        map((b) => [...b.indices]),
        toArray(),
      ),
    );
    expect(plain).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
  });

  it('groupBySize: a bad prompt in a window ends the stream after the prompts before it ran', () => {
    const s = newScheduler();
    const log = newLog();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, [0, 7, 3, 2, 9, -5, 6, 4], { batchSize: 2, groupBySize: 4 }, log).pipe(
        useBatch((b) => timer(10).pipe(map(() => `${b.items.join()}@${b.indices.join()}`))),
      );
      // Read ahead for the window, the bad prompt belongs to no batch: the error names it alone.
      const error = new StreamError({ promptIndex: 5 }, new Error('negative prompt -5 at 5'));
      expectObservable(out).toBe('10ms a 9ms b 9ms (c#)', { a: '0,2@0,3', b: '3,7@2,1', c: '9@4' }, error);
    });
    expect(log.disposed).toBe(log.built);
  });

  it('a failing batch of a window names its prompts', () => {
    const s = newScheduler();
    s.run(({ expectObservable }) => {
      const out = fakeBatches(s, [4, 3, 2, 1], { batchSize: 2, groupBySize: 2 }).pipe(
        useBatch((b) => {
          if (b.index === 1) throw new Error('boom');
          return b.items.join();
        }),
      );
      const error = new StreamError({ batchIndex: 1, start: 1, size: 2, indices: [1, 0] }, new Error('boom'));
      expectObservable(out).toBe('(a#)', { a: '1,2' }, error);
      expect(error.message).toBe('batch 1 (prompts 1, 0): boom');
    });
  });

  it('runs a long synchronous stream without deep recursion', async () => {
    const s = newScheduler();
    const n = await lastValueFrom(
      fakeBatches(s, range(10_000), { batchSize: 1 }).pipe(
        map((b) => b.size),
        toArray(),
        map((xs) => xs.length),
      ),
    );
    expect(n).toBe(10_000);
  });

  it('rejects bad options and a bare string of prompts', () => {
    const s = newScheduler();
    expect(() => fakeBatches(s, range(3), { batchSize: 0 })).toThrow(/batchSize 0 given/);
    expect(() => fakeBatches(s, range(3), { concurrency: 1.5 })).toThrow(/concurrency 1.5 given/);
    expect(() => fakeBatches(s, range(3), { groupBySize: 0 })).toThrow(/groupBySize 0 given/);
    const bad = fakeBatches(s, 'abc' as unknown as number[], {});
    return expect(lastValueFrom(bad)).rejects.toThrow(/one string/);
  });

  it('re-reads an array for each subscription', async () => {
    const s = newScheduler();
    const once = fakeBatches(s, from([1, 2, 3]), { batchSize: 2 }).pipe(
      map((b) => b.items.join()),
      toArray(),
    );
    expect(await lastValueFrom(once)).toEqual(['1,2', '3']);
    expect(await lastValueFrom(once)).toEqual(['1,2', '3']);
  });
});
