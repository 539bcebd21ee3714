// A model-free batch stream for virtual-time tests: each batch owns one small tensor, and the log
// records (in scheduler time) when each batch is built and disposed.
import * as tf from '@tensorflow/tfjs';
import { map, timer, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { LeasedBatch } from '../../src/stream/BatchLease.js';
import { leasedBatches, type BatchingOptions } from '../../src/stream/leasedBatches.js';
import type { PromptSource } from '../../src/stream/promptReader.js';

export interface FakeBatch extends LeasedBatch {
  readonly items: number[];
  readonly tensor: tf.Tensor1D;
}

export interface FakeLog {
  events: string[];
  built: number;
  disposed: number;
  /** Most batches alive (built, not yet disposed) at once. */
  maxAlive: number;
}

/**
 * Batches of numbers; a negative number is a bad prompt. `buildMs` makes building take virtual
 * time (the forward pass).
 */
export function fakeBatches(
  scheduler: TestScheduler,
  source: PromptSource<number>,
  options: BatchingOptions & { buildMs?: number },
  log: FakeLog = newLog(),
): Observable<FakeBatch> {
  const { buildMs, ...batching } = options;
  return leasedBatches<number, number, FakeBatch>(source, batching, {
    prepare: (p, i) => {
      if (p < 0) throw new Error(`negative prompt ${p} at ${i}`);
      return p;
    },
    build: (items, { index, start, indices, lease }) => {
      log.events.push(`${scheduler.now()} build ${index}`);
      log.built++;
      log.maxAlive = Math.max(log.maxAlive, log.built - log.disposed);
      const tensor = lease.track(tf.tensor1d(items));
      lease.track({
        dispose: () => {
          log.disposed++;
          log.events.push(`${scheduler.now()} dispose ${index}`);
        },
      });
      const batch: FakeBatch = {
        index,
        start,
        indices,
        size: items.length,
        items,
        tensor,
        get isDisposed() {
          return lease.isDisposed;
        },
        hold: () => lease.hold(),
      };
      return buildMs ? timer(buildMs).pipe(map(() => batch)) : batch;
    },
    // A prompt's size is its value, for groupBySize.
    sizeOf: (p) => p,
  });
}

export function newLog(): FakeLog {
  return { events: [], built: 0, disposed: 0, maxAlive: 0 };
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
