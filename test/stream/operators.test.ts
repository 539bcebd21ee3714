// The stream's operators: mapToLazy → materialize, keep and useBatch hold a batch through their
// asynchronous work; the reducers and progress on plain values, on virtual time where they can be.
import * as tf from '@tensorflow/tfjs';
import { from, lastValueFrom, map, of, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect, it } from 'vitest';
import { Lazy } from '../../graph/Lazy.js';
import { concatOver } from '../../src/stream/concatOver.js';
import { keep } from '../../src/stream/keep.js';
import { lastTokenIndex } from '../../src/stream/lastTokenIndex.js';
import { mapToLazy } from '../../src/stream/mapToLazy.js';
import { materialize } from '../../src/stream/materialize.js';
import { meanOver } from '../../src/stream/meanOver.js';
import { progress, type ProgressInfo } from '../../src/stream/progress.js';
import { StreamError } from '../../src/errors.js';
import { sumOver } from '../../src/stream/sumOver.js';
import { useBatch } from '../../src/stream/useBatch.js';
import { describeBackends } from '../helpers/backends.js';
import { fakeBatches, newLog, range } from './fakeBatches.js';

const newScheduler = (): TestScheduler => new TestScheduler((a, e) => expect(a).toEqual(e));

describeBackends('stream operators', () => {
  it('mapToLazy → materialize reads each batch while it lives, then releases it', async () => {
    const s = newScheduler();
    const log = newLog();
    const out = await lastValueFrom(
      fakeBatches(s, range(7), { batchSize: 3, concurrency: 2 }, log).pipe(
        mapToLazy((b) => Lazy.of(b.tensor).mul(2)),
        materialize(),
        toArray(),
      ),
    );
    expect(out.map((m) => m.value)).toEqual([[0, 2, 4], [6, 8, 10], [12]]);
    expect(out.map((m) => [m.index, m.start, m.size, m.shape])).toEqual([
      [0, 0, 3, [3]],
      [1, 3, 3, [3]],
      [2, 6, 1, [1]],
    ]);
    expect(log.maxAlive).toBe(2);
    expect(log.disposed).toBe(3);
  });

  it('names the batch when mapToLazy or materialize fails, and releases everything', async () => {
    const s = newScheduler();
    const log = newLog();
    const bad = fakeBatches(s, range(6), { batchSize: 2 }, log).pipe(
      mapToLazy((b) => {
        if (b.index === 1) throw new Error('no lazy for you');
        return Lazy.of(b.tensor);
      }),
      materialize(),
    );
    await expect(lastValueFrom(bad)).rejects.toThrow('batch 1 (prompts 2–3): no lazy for you');
    expect(log.disposed).toBe(log.built);

    const seen: number[] = [];
    const shapes = fakeBatches(s, range(6), { batchSize: 2 }, log).pipe(
      // batch 2's lazy reads a tensor that is already gone: it fails when materialized
      mapToLazy((b) => {
        if (b.index !== 2) return Lazy.of(b.tensor);
        const gone = tf.scalar(1);
        gone.dispose();
        return Lazy.of(gone);
      }),
      materialize(),
      map((m) => seen.push(m.index)),
    );
    const err = await lastValueFrom(shapes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamError);
    expect((err as StreamError).batchIndex).toBe(2);
    expect(seen).toEqual([0, 1]);
    expect(log.disposed).toBe(log.built);
  });

  it('keep hands the subscriber clones that outlive their batch', async () => {
    const s = newScheduler();
    const log = newLog();
    const kept = await lastValueFrom(
      fakeBatches(s, range(4), { batchSize: 2 }, log).pipe(
        keep((b) => ({ raw: b.tensor, doubled: Lazy.of(b.tensor).mul(2), n: b.size })),
        toArray(),
      ),
    );
    expect(log.disposed).toBe(2); // the batches are gone …
    expect(await kept[1].value.raw.array()).toEqual([2, 3]); // … their clones are not
    expect(await kept[1].value.doubled.array()).toEqual([4, 6]);
    expect(kept[1].value.n).toBe(2);
    for (const k of kept) tf.dispose([k.value.raw, k.value.doubled]);
  });

  it('useBatch sees a live batch across awaits', async () => {
    const s = newScheduler();
    const out = await lastValueFrom(
      fakeBatches(s, range(4), { batchSize: 2, concurrency: 2 }).pipe(
        useBatch(async (b) => {
          await new Promise((r) => setTimeout(r, 5));
          return { live: !b.isDisposed, sum: Array.from(await b.tensor.data()).reduce((x, y) => x + y, 0) };
        }),
        toArray(),
      ),
    );
    expect(out).toEqual([
      { live: true, sum: 1 },
      { live: true, sum: 5 },
    ]);
  });

  it('sumOver, meanOver and concatOver reduce over batches', () => {
    newScheduler().run(({ cold, expectObservable }) => {
      const batches = cold('a-b-c|', {
        a: { value: [[1, 2]], size: 2 },
        b: { value: [[3, 4, 5]], size: 3 },
        c: { value: [[6]], size: 1 },
      });
      expectObservable(batches.pipe(sumOver({ axis: 1 }))).toBe('-----(s|)', { s: [21] });
      expectObservable(batches.pipe(meanOver({ axis: 1 }))).toBe('-----(m|)', { m: [21 / 6] });
      expectObservable(batches.pipe(concatOver({ axis: 1 }))).toBe('-----(c|)', { c: [[1, 2, 3, 4, 5, 6]] });
      // Per-batch means weighted by batch size.
      const means = cold('a-b|', { a: { value: [1, 10], size: 3 }, b: { value: [5, 20], size: 1 } });
      expectObservable(means.pipe(meanOver())).toBe('---(m|)', { m: [2, 12.5] });
      expectObservable(cold('a|', { a: [[1], [2]] }).pipe(sumOver())).toBe('-(s|)', { s: [[1], [2]] });
      expectObservable(cold<number[]>('|').pipe(meanOver())).toBe('|');
    });
  });

  it('reducers reject results whose shapes disagree', async () => {
    await expect(lastValueFrom(from([[1, 2], [3]]).pipe(sumOver()))).rejects.toThrow(
      /expected the same shape/,
    );
    await expect(lastValueFrom(of([[1, 2], [3]]).pipe(sumOver()))).rejects.toThrow(/Ragged/);
    await expect(lastValueFrom(from([[[1, 2]], [[3]]]).pipe(concatOver()))).rejects.toThrow(
      /Cannot concatenate/,
    );
  });

  it('progress reports batches, prompts and rate in scheduler time', () => {
    const s = newScheduler();
    const reports: ProgressInfo[] = [];
    s.run(({ cold, expectObservable }) => {
      const items = cold('10ms a 9ms b 9ms |', { a: { size: 8 }, b: { size: 2 } });
      expectObservable(items.pipe(progress((p) => reports.push(p), { total: 10, scheduler: s }))).toBe(
        '10ms a 9ms b 9ms |',
        { a: { size: 8 }, b: { size: 2 } },
      );
    });
    expect(reports.map((r) => [r.batches, r.prompts, r.elapsedMs, r.done])).toEqual([
      [1, 8, 10, false],
      [2, 10, 20, false],
      [2, 10, 30, true],
    ]);
    expect(reports[1].promptsPerSecond).toBe(500);
    expect(reports[0].total).toBe(10);
  });

  it('lastTokenIndex finds the last real token for either padding side', async () => {
    expect(
      lastTokenIndex([
        [1, 1, 0, 0],
        [1, 1, 1, 1],
      ]),
    ).toEqual([1, 3]);
    expect(
      lastTokenIndex([
        [0, 0, 1, 1],
        [1, 1, 1, 1],
      ]),
    ).toEqual([3, 3]);
    const mask = tf.tensor2d([
      [1, 0],
      [1, 1],
    ]);
    expect(lastTokenIndex(await mask.array())).toEqual([0, 1]);
    // a tensor is refused: the library never reads one synchronously
    expect(() => lastTokenIndex(mask as never)).toThrow(/read it first with `await mask.array\(\)`/);
    mask.dispose();
    expect(() => lastTokenIndex([[0, 0]])).toThrow(/row 0 has no real token/);
  });
});
