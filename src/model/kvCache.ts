/**
 * A key/value cache for generation (TransformerLens's `HookedTransformerKeyValueCache`): every
 * layer's keys and values of the positions run so far, so that each new token runs through the
 * blocks alone and attends to them. Keys are stored after rotary (their rotation depends on their
 * own position only, which never changes) and per key/value head, so a grouped-query model stores
 * `n_key_value_heads`, not `n_heads`. The cache also keeps the attention mask of the cached
 * positions and each row's count of real tokens, which give the new tokens their position ids.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import type { PastKeyValues } from './forward.js';

/** One layer's cached keys and values, [batch, positions, kv heads, d_head]. */
interface LayerEntry {
  keys: tf.Tensor;
  values: tf.Tensor;
}

/**
 * Keys, values and the attention mask of every position a model has run so far. Owns its tensors
 * until {@link KeyValueCache.dispose}. Each pass first calls {@link KeyValueCache.advance} with the
 * new tokens' mask, then the forward extends every layer once.
 */
export class KeyValueCache implements PastKeyValues {
  private readonly layers: (LayerEntry | undefined)[];
  /** The mask over cached (and, during a pass, new) positions; undefined while nothing is padded. */
  private mask: number[][] | undefined;
  /** Real tokens seen per row: the next real token's position id. */
  private readonly realTokens: number[];
  private cached = 0;
  private newPositions: number[][] = [];
  private disposed = false;

  /**
   * An empty cache for `batch` sequences of a model with this config.
   * @param cfg the model's config (its layer count).
   * @param batch the number of sequences.
   */
  constructor(
    readonly cfg: HookedTransformerConfig,
    readonly batch: number,
  ) {
    this.layers = Array.from({ length: cfg.nLayers }, () => undefined);
    this.realTokens = Array.from({ length: batch }, () => 0);
  }

  /** Positions cached so far (the offset of the next pass's first token). */
  get length(): number {
    return this.cached;
  }

  /** The position id of each token of the current pass, [batch][pos]. */
  get positions(): readonly (readonly number[])[] {
    return this.newPositions;
  }

  /**
   * The attention mask [batch][cached + new positions] of the current pass, or undefined when no
   * position so far is padding (a copy: the caller may keep it).
   */
  get attentionMask(): number[][] | undefined {
    return this.mask?.map((r) => [...r]);
  }

  /**
   * Starts a pass over `pos` new positions: gives them position ids (counting each row's real
   * tokens, so a left-padded row's first real token is 0, as the full forward does) and grows the
   * mask. `newMask` [batch][pos] marks padding among them with 0; without it all are real tokens.
   * @throws InvalidArgumentError when `newMask` is not [batch][pos] of 0 / 1.
   */
  advance(pos: number, newMask?: readonly (readonly number[])[]): void {
    this.assertLive();
    if (newMask) this.checkMask(pos, newMask);
    if (newMask && !this.mask && newMask.some((r) => r.some((x) => x === 0))) {
      // The first padding seen: every earlier position was a real token.
      this.mask = this.realTokens.map(() => Array.from({ length: this.cached }, () => 1));
    }
    this.newPositions = this.realTokens.map((seen, b) => {
      const row = Array.from({ length: pos }, (_, i) => {
        if (!newMask || newMask[b][i] > 0) seen++;
        return Math.max(seen - 1, 0);
      });
      this.realTokens[b] = seen;
      return row;
    });
    if (this.mask) {
      this.mask.forEach((r, b) => r.push(...(newMask ? newMask[b] : Array.from({ length: pos }, () => 1))));
    }
    this.cached += pos;
  }

  /** Stores one layer's new keys and values after the cached ones; returns them all (owned by the cache). */
  extend(layer: number, keys: tf.Tensor, values: tf.Tensor): { keys: tf.Tensor; values: tf.Tensor } {
    this.assertLive();
    const old = this.layers[layer];
    const entry = old
      ? { keys: tf.keep(tf.concat([old.keys, keys], 1)), values: tf.keep(tf.concat([old.values, values], 1)) }
      : { keys: tf.keep(keys.clone()), values: tf.keep(values.clone()) };
    if (entry.keys.shape[1] !== this.cached) {
      const had = entry.keys.shape[1];
      tf.dispose([entry.keys, entry.values]);
      throw new Error(
        `internal: layer ${layer} of the KV cache holds ${had} positions, expected ${this.cached}`,
      );
    }
    if (old) tf.dispose([old.keys, old.values]);
    this.layers[layer] = entry;
    return entry;
  }

  /** Frees every cached tensor; the cache cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    for (const entry of this.layers) if (entry) tf.dispose([entry.keys, entry.values]);
    this.layers.fill(undefined);
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed)
      throw new InvalidArgumentError('This KeyValueCache was disposed; expected a live cache.');
  }

  private checkMask(pos: number, mask: readonly (readonly number[])[]): void {
    const ok =
      mask.length === this.batch && mask.every((r) => r.length === pos && r.every((x) => x === 0 || x === 1));
    if (!ok) {
      throw new InvalidArgumentError(
        `attentionMask of ${mask.length} rows given; expected [${this.batch}][${pos}] of 0 (padding) / 1 (token).`,
      );
    }
  }
}
