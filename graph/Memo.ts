/**
 * An owner-scoped memo of materialized subgraphs (a cache memoizes its head and neuron results this
 * way). Keys are node identities, which interning makes meaningful: the same subgraph built twice is
 * the same key. The memo owns what it stores and frees it all in `dispose()`, with its owner.
 */
import type * as tf from '@tensorflow/tfjs';
import { DisposedError } from './errors.js';
import type { MemoStore, Node } from './node.js';

/** A store of tensors keyed by node; see {@link memo} in the factory to request memoization. */
export class Memo implements MemoStore {
  private readonly entries = new Map<Node, tf.Tensor>();
  private isDisposed = false;

  /** @param label names the owner in error messages (e.g. `'ActivationCache'`). */
  constructor(readonly label = 'memo') {}

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** How many subgraphs are stored. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `key` is stored. */
  has(key: Node): boolean {
    return this.entries.has(key);
  }

  /** The stored tensor (still owned by the memo), or undefined. */
  get(key: Node): tf.Tensor | undefined {
    this.check();
    return this.entries.get(key);
  }

  /** Stores `value` under `key`, taking ownership of it. */
  set(key: Node, value: tf.Tensor): void {
    this.check();
    this.entries.get(key)?.dispose();
    this.entries.set(key, value);
  }

  /** Frees every stored tensor; later use fails with {@link DisposedError}. Idempotent. */
  dispose(): void {
    for (const t of this.entries.values()) t.dispose();
    this.entries.clear();
    this.isDisposed = true;
  }

  private check(): void {
    if (this.isDisposed) {
      throw new DisposedError(
        `${this.label}: given a disposed memo, expected a live one (was its owner disposed?).`,
      );
    }
  }
}
