/**
 * The types `streamCaches` works with: what a prompt can be, the model it needs, and the batch it
 * emits.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ActivationCache } from '../cache/ActivationCache.js';
import type { PaddingSide } from '../core/tokens.js';
import type { HookedTransformerConfig } from '../core/config.js';
import type { NameMatcher } from '../model/hooks.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { LeasedBatch } from './BatchLease.js';

/** A prompt with data of its own; `answer` is a single-token string or a token id. */
export interface PromptRecord {
  /** Text, or token ids used as given. */
  readonly prompt: string | readonly number[];
  /** The expected next token: a single-token string or an id. */
  readonly answer?: string | number;
  readonly [key: string]: unknown;
}

/** Text, token ids (used as given: no BOS is added), or a record. */
export type PromptInput = string | readonly number[] | PromptRecord;

/**
 * What the stream needs of a model (HookedTransformer has it). A structural type, so src/model can
 * depend on src/stream without a cycle.
 */
export interface StreamModel {
  /** The model's configuration. */
  readonly cfg: HookedTransformerConfig;
  /** Tokenizes text prompts; without one, prompts must be token ids. */
  readonly tokenizer?: ModelTokenizer;
  /** Runs a padded batch and caches its activations, as {@link HookedTransformer.runWithCache}. */
  runWithCache(
    input: number[][],
    options: {
      namesFilter?: NameMatcher;
      attentionMask?: number[][];
      logits?: 'all' | 'last';
      finalBlockAtLastToken?: boolean;
    },
  ): Promise<{
    /** [batch, pos, d_vocab_out], or [batch, 1, d_vocab_out] with `logits: 'last'`. */
    logits: tf.Tensor;
    /** The batch's activations. */
    cache: ActivationCache;
  }>;
  /** The id of a string that is exactly one token. */
  toSingleToken(text: string): number;
}

/**
 * One batch of a stream: the prompts, their padded tokens and the model's logits and cache.
 *
 * Ownership: the batch is **borrowed**. Its tensors (`tokens`, `attentionMask`, `logits`, every
 * tensor of `cache`, and anything handed to `track`) are disposed when the subscriber's work on it
 * is done: right after the synchronous delivery of the batch returns, unless an operator took a
 * `hold()` during it — then when the last hold is released. The stream's operators (`useBatch`,
 * `mapToLazy` … `materialize`, `keep`) hold the batch through their asynchronous work. To keep
 * anything longer, copy it out: `keep()` (owned tensor clones) or `materialize()` (arrays).
 */
export interface CacheBatch<P = PromptInput> extends LeasedBatch {
  /** The prompts of this batch, as given. */
  readonly records: readonly P[];
  /** int32 [batch, pos], padded on `paddingSide` with the tokenizer's pad id (0 without one). */
  readonly tokens: tf.Tensor2D;
  /** float32 [batch, pos]: 1 for a real token, 0 for padding. */
  readonly attentionMask: tf.Tensor2D;
  /** Real tokens per row. */
  readonly lengths: readonly number[];
  /** Position of each row's last real token (`pos − 1` for left padding). */
  readonly lastPositions: readonly number[];
  /** Each record's `answer` as a token id, `null` when it has none. */
  readonly answers: readonly (number | null)[];
  /** The model's top token (argmax of the logits) at each row's last real token. */
  readonly predictions: readonly number[];
  /**
   * Whether each row's logits at its last real token are all finite. Where they are not (NaN or
   * ±Infinity weights or activations), that row's prediction is meaningless.
   */
  readonly finiteLogits: readonly boolean[];
  /** The side padding went on. */
  readonly paddingSide: PaddingSide;
  /** [batch, pos, d_vocab_out]; [batch, 1, d_vocab_out] (each row's last real token) with `logits: 'last'`. */
  readonly logits: tf.Tensor;
  /** The batch's activations; disposed with the batch. */
  readonly cache: ActivationCache;
  /** Hands `t` to the batch: it is disposed with the batch. Returns `t`. */
  track<T extends tf.Tensor>(t: T): T;
}

/** Options of `streamCaches`. */
export interface StreamCachesOptions {
  /** Prompts per forward pass (the last batch may be smaller). Default 8. */
  batchSize?: number;
  /** Which activations to cache (as `runWithCache`). Default: all. */
  namesFilter?: NameMatcher;
  /**
   * `'all'` (default): the batch's logits at every position; `'last'`: only at each row's last
   * real token, `[batch, 1, d_vocab_out]`, which is all `predictions` and a last-token analysis
   * read, and skips the unembedding everywhere else.
   */
  logits?: 'all' | 'last';
  /**
   * With `logits: 'last'`, for analyses of each prompt's last real token: the final block's
   * attention outputs, MLP and everything after are computed at the last tokens only (as
   * `runWithCache`'s `finalBlockAtLastToken`). The cache is exact there; the final block's and
   * `ln_final`'s activations at other positions hold the row's last-token value. Default false.
   */
  finalBlockAtLastToken?: boolean;
  /**
   * Where shorter prompts are padded. Default 'right' (as TransformerLens). With 'left' the model
   * gets the attention mask, so the first real token has position 0; with 'right' it needs none
   * (causal attention never looks ahead at the padding).
   */
  paddingSide?: PaddingSide;
  /** Batches alive at once: the producer is never more than this many batches ahead. Default 1. */
  concurrency?: number;
  /**
   * Batches per window within which prompts are put in order of their token count before they
   * are cut into batches, so each batch pads less (prompts of equal length keep their order).
   * A batch's `indices` then say which prompt each row is. Default 1: the input's order, each
   * batch the next `batchSize` prompts. Prompts are read a window ahead.
   */
  groupByLength?: number;
  /** Prepend BOS to text prompts (default `cfg.defaultPrependBos`); token ids are used as given. */
  prependBos?: boolean;
  /**
   * Cut a text prompt longer than n_ctx tokens to its first n_ctx tokens, as `runWithCache`'s
   * `truncate` (TransformerLens's). Default false: a too-long prompt ends the stream with a
   * `StreamError` naming it. Token ids are never cut.
   */
  truncate?: boolean;
}
