/**
 * A ready-made {@link LeafSource}: named tensors in a map, e.g. a cache's activations or a model's
 * weights. The source hands tensors to the executor without giving up ownership; when its owner is
 * disposed, `dispose()` marks it so materializing a graph over it fails clearly instead of reading
 * freed memory.
 */
import type * as tf from '@tensorflow/tfjs';
import { DisposedError, UnresolvedLeafError } from './errors.js';
import { leaf } from './factory.js';
import type { LeafSource, NodeOf } from './node.js';

/** Named tensors that leaves resolve against at run time. */
export class TensorSource implements LeafSource {
  private readonly tensors = new Map<string, tf.Tensor>();
  private isDisposed = false;

  /**
   * @param label names the source in errors (`'cache'`, `'model weights'`).
   * @param owns when true, `dispose()` also disposes the stored tensors.
   */
  constructor(
    readonly label: string,
    entries: Iterable<readonly [string, tf.Tensor]> = [],
    private readonly owns = false,
  ) {
    for (const [k, v] of entries) this.tensors.set(k, v);
  }

  /** True once {@link dispose} ran. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Adds or replaces the tensor under `name`. */
  set(name: string, tensor: tf.Tensor): this {
    if (this.isDisposed)
      throw new DisposedError(`${this.label}: given set('${name}') after dispose, expected a live source.`);
    this.tensors.set(name, tensor);
    return this;
  }

  /** The tensor under `name`, or undefined. */
  resolve(name: string): tf.Tensor | undefined {
    return this.tensors.get(name);
  }

  /** Names of the stored tensors, in insertion order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /**
   * A leaf node for the tensor under `name`, its shape and dtype read from the tensor now.
   * @param dims one name per dim, e.g. `['batch', 'pos', 'd_model']`.
   */
  leaf(name: string, dims?: readonly string[], labels?: readonly string[]): NodeOf<'leaf'> {
    const t = this.tensors.get(name);
    if (!t) {
      throw new UnresolvedLeafError(
        `${this.label}: given leaf name '${name}', expected one of ${this.names().slice(0, 10).join(', ') || '(none)'}.`,
      );
    }
    const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
    return leaf(name, this, { shape: t.shape, dtype, dims, labels });
  }

  /** Marks the source disposed (and frees its tensors if it owns them). Idempotent. */
  dispose(): void {
    if (this.owns) for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
    this.isDisposed = true;
  }
}

/**
 * A {@link LeafSource} over a function, e.g. `(name) => model.stateDict()[name]`. The function's
 * tensors stay owned by whoever made them; `isDisposed` reports the owner's state.
 */
export function functionSource(
  label: string,
  resolve: (name: string) => tf.Tensor | undefined,
  isDisposed: () => boolean = () => false,
): LeafSource {
  return {
    label,
    resolve,
    get disposed() {
      return isDisposed();
    },
  };
}
