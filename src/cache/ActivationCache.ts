/**
 * The activations of one forward pass, under TransformerLens's hook names.
 *
 * The cache owns its tensors until {@link ActivationCache.dispose}; `get` returns the stored
 * tensor (do not dispose it). Methods that would change the cache return a new one instead.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  BadLayerError,
  BatchDimError,
  InvalidArgumentError,
  LazylensError,
  UnknownKeyError,
} from '../errors.js';
import { getActName } from './getActName.js';
import type { LensModel } from './LensModel.js';

/** A cache key: a full hook name, a shorthand, or `[name, layer?, layerType?]` (negative layers count from the end). */
export type CacheKey = string | readonly [string, (number | null)?, (string | null)?];

export class ActivationCache implements Iterable<[string, tf.Tensor]> {
  private readonly dict: Map<string, tf.Tensor>;
  private disposed = false;

  /**
   * @param cacheDict hook name → tensor; the cache takes ownership.
   * @param model the model that produced it (its config and weights serve the analysis methods).
   * @param hasBatchDim whether dim 0 of every tensor is the batch.
   */
  constructor(
    cacheDict: Map<string, tf.Tensor>,
    readonly model: LensModel,
    readonly hasBatchDim = true,
  ) {
    this.dict = cacheDict;
  }

  /** Whether `hook_embed` was cached. */
  get hasEmbed(): boolean {
    return this.dict.has('hook_embed');
  }

  /** Whether `hook_pos_embed` was cached (false for rotary models). */
  get hasPosEmbed(): boolean {
    return this.dict.has('hook_pos_embed');
  }

  /** Number of cached activations. */
  get size(): number {
    return this.dict.size;
  }

  /** The full hook name `key` refers to (without checking that it is cached). */
  resolveKey(key: CacheKey): string {
    if (typeof key === 'string') return this.dict.has(key) ? key : getActName(key);
    if (!Array.isArray(key) || typeof key[0] !== 'string') {
      throw new InvalidArgumentError(
        `Cache key ${JSON.stringify(key)} is not a hook name, shorthand or [name, layer?, layerType?] tuple.`,
      );
    }
    const [name, rawLayer, layerType] = key;
    let layer = rawLayer ?? undefined;
    const n = this.model.cfg.nLayers;
    if (layer !== undefined) {
      if (!Number.isInteger(layer) || layer < -n || layer >= n) {
        throw new BadLayerError(
          `Layer ${layer} given for '${name}'; expected an integer in [${-n}, ${n - 1}].`,
        );
      }
      if (layer < 0) layer += n;
    }
    return getActName(name, layer, layerType);
  }

  /**
   * The activation stored under `key`.
   * @example
   * ```ts
   * const { cache, logits } = await model.runWithCache('The cat sat');
   * cache.get('blocks.0.hook_resid_pre');      // full name
   * cache.get(['resid_pre', -1]);              // tuple, last layer
   * cache.get('k0');                           // shorthand → blocks.0.attn.hook_k
   * cache.dispose(); logits.dispose();
   * ```
   * @throws UnknownKeyError naming the three nearest cached names.
   */
  get(key: CacheKey): tf.Tensor {
    this.assertLive();
    const name = this.resolveKey(key);
    const t = this.dict.get(name);
    if (!t) throw new UnknownKeyError(name, this.dict.keys(), 'cache key');
    return t;
  }

  /** Whether `key` resolves to a cached activation. */
  has(key: CacheKey): boolean {
    try {
      return this.dict.has(this.resolveKey(key));
    } catch {
      return false;
    }
  }

  keys(): IterableIterator<string> {
    return this.dict.keys();
  }

  values(): IterableIterator<tf.Tensor> {
    this.assertLive();
    return this.dict.values();
  }

  items(): IterableIterator<[string, tf.Tensor]> {
    this.assertLive();
    return this.dict.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, tf.Tensor]> {
    return this.items();
  }

  /** `ActivationCache with keys [...]`, as TransformerLens's repr. */
  toString(): string {
    return `ActivationCache with keys [${[...this.dict.keys()].map((k) => `'${k}'`).join(', ')}]`;
  }

  /** Whether {@link dispose} has run. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees every tensor the cache owns. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    for (const t of this.dict.values()) t.dispose();
    this.dict.clear();
    this.disposed = true;
  }

  /** A new cache whose tensors have lost their batch dim of size 1 (this cache is left as it is). */
  removeBatchDim(): ActivationCache {
    this.assertLive();
    if (!this.hasBatchDim)
      throw new BatchDimError('This cache has no batch dim to remove; expected a cache with one.');
    for (const [name, t] of this.dict) {
      if (t.shape[0] !== 1) {
        throw new BatchDimError(
          `Cannot remove the batch dim: '${name}' has batch size ${t.shape[0]}, expected 1 for every activation.`,
        );
      }
    }
    const next = new Map<string, tf.Tensor>();
    for (const [name, t] of this.dict) next.set(name, t.squeeze([0]));
    return new ActivationCache(next, this.model, false);
  }

  private assertLive(): void {
    if (this.disposed)
      throw new LazylensError('This ActivationCache was disposed; its activations are gone.');
  }
}
