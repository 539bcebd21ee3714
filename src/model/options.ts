/**
 * The options and result types of a HookedTransformer's entry points, in one room so the facade,
 * the pass runner and the loaders agree on them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendOptions } from '../backend/index.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { TokenOptions } from '../core/prepareTokens.js';
import type { HookFn, NameMatcher } from './hooks.js';
import type { PosSliceInput } from './posSlice.js';
import type { ProcessingOptions } from './processWeights.js';

/** Options every forward pass takes: tokenization (BOS, padding) and where to stop. */
export interface RunOptions extends TokenOptions {
  /** Run blocks [0, stopAtLayer) and return the residual stream there instead of logits (exclusive, as TL). */
  stopAtLayer?: number;
}

/** Options of {@link HookedTransformer.runWithCache}. */
export interface RunWithCacheOptions extends RunOptions {
  /** Which activations to keep: a name, names (full or shorthand) or a predicate. Default: all. */
  namesFilter?: NameMatcher;
  /** Drop the batch dim (batch must be 1). */
  removeBatchDim?: boolean;
  /**
   * Keep only these positions in the cache, on each hook's position axis (see `posAxis`). As
   * TransformerLens, an integer keeps the axis: `posSlice: -1` caches `[batch, 1, ...]`.
   */
  posSlice?: PosSliceInput;
}

/** What a forward pass returns: logits `[batch, pos, d_vocab_out]`, the scalar mean next-token loss, or both. */
export type ReturnType = 'logits' | 'loss' | 'both';

/** Options of {@link HookedTransformer.forward}. */
export interface ForwardOutputOptions extends RunOptions {
  /** `'logits'` (default), `'loss'` or `'both'`. */
  returnType?: ReturnType;
}

/** Options of {@link HookedTransformer.runWithHooks}. */
export interface RunWithHooksOptions extends ForwardOutputOptions {
  /** `[nameOrPredicate, fn]` pairs; hooks at one point run in the order given. */
  fwdHooks?: readonly (readonly [NameMatcher, HookFn])[];
}

/** Options of {@link HookedTransformer.fromPretrained}: weight processing (TransformerLens's defaults) and the backend. */
export interface FromPretrainedOptions extends ProcessingOptions, BackendOptions {
  /** Cache per-head outputs (`hook_result`) on every run. */
  useAttnResult?: boolean;
}

/** Options of {@link HookedTransformer.fromConfig}. */
export interface FromConfigOptions {
  /** Seed of the random initialization; `cfg.seed`, else 0, by default. */
  seed?: number;
  /** A tokenizer for string inputs; without one the model takes token ids only. */
  tokenizer?: ModelTokenizer;
}

/** Options of {@link HookedTransformer.fromStateDict}: weight processing (all off by default) and a tokenizer. */
export interface FromStateDictOptions extends ProcessingOptions {
  /** A tokenizer for string inputs; without one the model takes token ids only. */
  tokenizer?: ModelTokenizer;
}

/** `{ logits, loss }` for returnType 'both'; the caller owns both tensors. */
export interface LogitsAndLoss {
  /** Logits `[batch, pos, d_vocab_out]`. */
  logits: tf.Tensor;
  /** Mean next-token cross-entropy, a scalar `[]`. */
  loss: tf.Tensor;
}

/** The result type of a forward pass for a `returnType`. */
export type ForwardResult<R extends ReturnType | undefined> = R extends 'loss'
  ? tf.Scalar
  : R extends 'both'
    ? LogitsAndLoss
    : tf.Tensor;
