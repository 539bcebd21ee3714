/**
 * The lifetime of one batch in a stream. A batch lives while someone holds it: the stream holds
 * it while emitting it, and any operator that works on it asynchronously takes its own hold
 * (synchronously, during the emission). When the last hold is released the batch's tensors are
 * disposed and the stream may produce another batch: that is both the ownership rule and the
 * backpressure of `streamCaches`.
 */
import { StreamError } from '../errors.js';

/** Anything with a `dispose()`: tensors, caches. */
export interface Disposable {
  dispose(): void;
}

/** What every batch of a stream offers its operators. */
export interface LeasedBatch {
  /** Batch number, from 0. */
  readonly index: number;
  /** Stream index of the batch's first prompt (its first row). */
  readonly start: number;
  /**
   * Stream index of each prompt, row by row: `start`, `start + 1`, … unless the stream grouped
   * prompts by length (`groupByLength`).
   */
  readonly indices: readonly number[];
  /** Number of prompts (rows) in the batch. */
  readonly size: number;
  /** True once the batch's tensors were disposed. */
  readonly isDisposed: boolean;
  /**
   * Keeps the batch alive until the returned function is called (calling it twice is harmless).
   * Take the hold synchronously while the batch is being emitted: afterwards it may be gone.
   * @throws StreamError when the batch was already disposed.
   */
  hold(): () => void;
}

/** Hold count and owned resources of one batch. */
export class BatchLease {
  private holds = 0;
  private readonly owned: Disposable[] = [];
  private disposedFlag = false;

  /**
   * @param index the batch number (for error messages).
   * @param onDisposed called once, after the owned resources were disposed.
   */
  constructor(
    readonly index: number,
    private readonly onDisposed: () => void,
  ) {}

  get isDisposed(): boolean {
    return this.disposedFlag;
  }

  /** Hands `x` to the batch: it is disposed with it (at once, if the batch is already gone). */
  track<T extends Disposable>(x: T): T {
    if (this.disposedFlag) x.dispose();
    else this.owned.push(x);
    return x;
  }

  /** A hold on the batch; the returned function releases it (idempotent). */
  hold(): () => void {
    if (this.disposedFlag) {
      throw new StreamError(
        { batchIndex: this.index },
        'its tensors were already disposed; take a hold synchronously while the batch is emitted',
      );
    }
    this.holds++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.holds--;
      if (this.holds === 0) this.dispose();
    };
  }

  /** Disposes the batch now, whatever holds remain (stream teardown). Idempotent. */
  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    const owned = this.owned.splice(0);
    for (const x of owned) x.dispose();
    this.onDisposed();
  }
}
