/**
 * `progress`: report how far a stream has got, without changing it.
 */
import { asyncScheduler, defer, tap, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';

/** What `progress` reports after each item and once at the end. */
export interface ProgressInfo {
  /** Items (batches) seen so far. */
  batches: number;
  /** Prompts seen so far: the sum of the items' `size` (1 for an item without one). */
  prompts: number;
  /** The `total` given, if any. */
  total?: number;
  /** Milliseconds since subscription (scheduler time). */
  elapsedMs: number;
  /** Prompts per second so far. */
  promptsPerSecond: number;
  /** True for the last report, on completion. */
  done: boolean;
}

/** Options of {@link progress}. */
export interface ProgressOptions {
  /** Expected number of prompts, passed through for percentages. */
  total?: number;
  /** Clock (default `asyncScheduler`; a TestScheduler gives virtual time). */
  scheduler?: SchedulerLike;
}

function sizeOf(item: unknown): number {
  const size = (item as { size?: unknown } | null)?.size;
  return typeof size === 'number' ? size : 1;
}

/**
 * Calls `report` after each item passes (and once more on completion), counting batches and
 * prompts. Items go through unchanged. A throw in `report` ends the stream with that error.
 * @param report called with the counts so far (see {@link ProgressInfo}).
 * @param options the expected `total` of prompts and the clock (see {@link ProgressOptions}).
 * @example
 * ```ts
 * import { progress } from 'lazylens';
 * import { from, lastValueFrom } from 'rxjs';
 *
 * const seen: number[] = [];
 * const batches = from([{ size: 8 }, { size: 3 }]);
 * await lastValueFrom(batches.pipe(progress((p) => seen.push(p.prompts))));
 * seen;   // [8, 11, 11]
 * ```
 */
export function progress<T>(
  report: (info: ProgressInfo) => void,
  options: ProgressOptions = {},
): MonoTypeOperatorFunction<T> {
  const clock = options.scheduler ?? asyncScheduler;
  return (source) =>
    defer(() => {
      const t0 = clock.now();
      let batches = 0;
      let prompts = 0;
      const info = (done: boolean): ProgressInfo => {
        const elapsedMs = clock.now() - t0;
        return {
          batches,
          prompts,
          total: options.total,
          elapsedMs,
          promptsPerSecond: elapsedMs > 0 ? (prompts * 1000) / elapsedMs : 0,
          done,
        };
      };
      return source.pipe(
        tap({
          next: (item) => {
            batches++;
            prompts += sizeOf(item);
            report(info(false));
          },
          complete: () => report(info(true)),
        }),
      );
    });
}
