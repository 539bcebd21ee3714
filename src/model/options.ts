/**
 * The options and result types of a HookedTransformer's entry points, in one room so the facade,
 * the pass runner and the loaders agree on them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendOptions } from '../backend/index.js';
import type { OptionKeys } from '../core/checkOptions.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { HubOptions } from '../loading/hub/HubOptions.js';
import type { TokenOptions } from '../core/prepareTokens.js';
import type { AddHookOptions, ResetHooksOptions } from './HookRegistry.js';
import type { HookFn, NameMatcher } from './hooks.js';
import type { PosSliceInput } from './posSlice.js';
import type { ProcessingOptions } from './processWeights.js';

/** Options every forward pass takes: tokenization (BOS, padding) and where to stop. */
export interface RunOptions extends TokenOptions {
  /** Run blocks [0, stopAtLayer) and return the residual stream there instead of logits (exclusive, as TL). */
  stopAtLayer?: number;
}

/** What a forward pass returns: logits `[batch, pos, d_vocab_out]`, the scalar mean next-token loss, or both. */
export type ReturnType = 'logits' | 'loss' | 'both';

/**
 * Where the unembedding runs: `'all'` positions (TransformerLens's logits `[batch, pos, d_vocab_out]`),
 * each row's `'last'` real token only (`[batch, 1, d_vocab_out]`), or `'none'` (no `ln_final` unless a
 * hook observes it, no unembedding, and only as many blocks as the hooks and cache need).
 */
export type LogitsWanted = 'all' | 'last' | 'none';

/**
 * Options of {@link HookedTransformer.forward}. The loss ignores every prediction whose position
 * or next position is masked out by the attention mask (left padding, or `attentionMask`), as
 * TransformerLens's `lm_cross_entropy_loss` with its `attention_mask`.
 */
export interface ForwardOutputOptions extends RunOptions {
  /** `'logits'` (default), `'loss'` or `'both'`. */
  returnType?: ReturnType;
  /** The loss per prediction `[batch, pos - 1]` (0 where masked) instead of its mean (TL's `loss_per_token`). */
  lossPerToken?: boolean;
  /**
   * Which logits to compute (default `'all'`, as TransformerLens). `'last'` unembeds only each
   * row's last real token, the last position its attention mask marks real (the mask given, or the
   * one built for padded text; without a mask, the last column), giving `[batch, 1, d_vocab_out]`.
   * `'none'` returns no logits and runs only the blocks that the hooks (or the cache's
   * `namesFilter`) reach. Both need `returnType: 'logits'`; `'last'` cannot take `stopAtLayer`.
   */
  logits?: LogitsWanted;
}

/** Options of {@link HookedTransformer.runWithCache}: what to cache, and what to return as `forward`. */
export interface RunWithCacheOptions extends ForwardOutputOptions {
  /** Which activations to keep: a name, names (full or shorthand) or a predicate. Default: all. */
  namesFilter?: NameMatcher;
  /** Drop the batch dim (batch must be 1). */
  removeBatchDim?: boolean;
  /**
   * Keep only these positions in the cache, on each hook's position axis (see `posAxis`). As
   * TransformerLens, an integer keeps the axis: `posSlice: -1` caches `[batch, 1, ...]`.
   */
  posSlice?: PosSliceInput;
  /**
   * Also cache the gradient of `metric` with respect to each cached activation, under
   * `<name>_grad` (TL's `incl_bwd`); backward hooks (`addHook(…, { dir: 'bwd' })`) fire too.
   */
  inclBwd?: boolean;
  /**
   * With `inclBwd`: the scalar to differentiate, a function of the output (logits, or the residual
   * with `stopAtLayer`) that returns a tensor of shape `[]`. Default: the mean next-token loss.
   */
  metric?: (output: tf.Tensor) => tf.Tensor;
  /**
   * lazylens's own, for analyses of each row's last real token (needs `logits: 'last'` or
   * `'none'`): from the final block on, only those positions are computed. Its queries attend, and
   * its MLP, `ln_final` and the logits run, at each row's last real token alone; its keys and
   * values, and every earlier block, at every position. The final block's and `ln_final`'s cached
   * activations are exact at those positions and hold each row's last-token value at every other
   * position: read them at the last tokens only. Everything runs in full instead (the cache then
   * exact everywhere) where that would change a value: with ALiBi or a local window in the final
   * block, or a hook of the model's own on the final block or `ln_final`.
   */
  finalBlockAtLastToken?: boolean;
}

/** Options of {@link HookedTransformer.runWithHooks}. */
export interface RunWithHooksOptions extends ForwardOutputOptions {
  /** `[nameOrPredicate, fn]` pairs; hooks at one point run in the order given. */
  fwdHooks?: readonly (readonly [NameMatcher, HookFn])[];
}

/** The hooks of a {@link HookedTransformer.withHooks} scope. */
export interface WithHooksSpec {
  /** `[nameOrPredicate, fn]` forward hooks, run after the model's lasting ones. */
  fwdHooks?: readonly (readonly [NameMatcher, HookFn])[];
  /** `[nameOrPredicate, fn]` backward hooks: they see the gradient at their point on a gradient pass. */
  bwdHooks?: readonly (readonly [NameMatcher, HookFn])[];
}

/** Options of {@link HookedTransformer.fromPretrained}: weight processing (TransformerLens's defaults) and the backend. */
export interface FromPretrainedOptions extends ProcessingOptions, BackendOptions {
  /** Cache per-head outputs (`hook_result`) on every run. */
  useAttnResult?: boolean;
  /** How a model named on the Hugging Face Hub is downloaded (progress, token, cache, offline). */
  hub?: HubOptions;
  /**
   * Accept NaN and ±Inf in the weights. By default a non-finite value fails the load, naming the
   * tensor: such a model computes NaN logits and probabilities.
   */
  allowNonFinite?: boolean;
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

/** The loss: a scalar, or `[batch, pos - 1]` with `lossPerToken: true` (`P`). */
export type LossResult<P extends boolean | undefined> = P extends true ? tf.Tensor : tf.Scalar;

/** The result type of a forward pass for a `returnType` (and `lossPerToken`, `P`; `logits`, `L`). */
export type ForwardResult<
  R extends ReturnType | undefined,
  P extends boolean | undefined = undefined,
  L extends LogitsWanted | undefined = undefined,
> = R extends 'loss'
  ? LossResult<P>
  : R extends 'both'
    ? LogitsAndLoss
    : L extends 'none'
      ? undefined
      : tf.Tensor;

/** What `runWithCache` returns: the cache and, as `returnType` and `logits` (`L`) ask, the logits, the loss or both. */
export type CachedResult<
  R extends ReturnType | undefined,
  C,
  L extends LogitsWanted | undefined = undefined,
> = (R extends 'loss'
  ? {
      /** The next-token loss (a scalar, or per token with `lossPerToken`); the caller disposes it. */
      loss: tf.Tensor;
    }
  : R extends 'both'
    ? LogitsAndLoss
    : L extends 'none'
      ? {
          /** No logits: `logits: 'none'` was asked. */
          logits: undefined;
        }
      : {
          /**
           * Logits `[batch, pos, d_vocab_out]` (`[batch, 1, d_vocab_out]` with `logits: 'last'`, the
           * residual at `stopAtLayer`); the caller disposes them.
           */
          logits: tf.Tensor;
        }) & {
  /** The activations, owned by the cache until its `dispose()`. */
  cache: C;
};

const RUN_KEYS = {
  prependBos: true,
  paddingSide: true,
  attentionMask: true,
  truncate: true,
  stopAtLayer: true,
} as const satisfies OptionKeys<RunOptions>;

/** The keys `forward` accepts. */
export const FORWARD_KEYS = {
  ...RUN_KEYS,
  returnType: true,
  lossPerToken: true,
  logits: true,
} as const satisfies OptionKeys<ForwardOutputOptions>;

/** The keys `runWithCache` accepts. */
export const RUN_WITH_CACHE_KEYS = {
  ...FORWARD_KEYS,
  namesFilter: true,
  removeBatchDim: true,
  posSlice: true,
  inclBwd: true,
  metric: true,
  finalBlockAtLastToken: true,
} as const satisfies OptionKeys<RunWithCacheOptions>;

/** The keys `runWithHooks` accepts. */
export const RUN_WITH_HOOKS_KEYS = {
  ...FORWARD_KEYS,
  fwdHooks: true,
} as const satisfies OptionKeys<RunWithHooksOptions>;

/** The keys `withHooks` accepts. */
export const WITH_HOOKS_KEYS = {
  fwdHooks: true,
  bwdHooks: true,
} as const satisfies OptionKeys<WithHooksSpec>;

/** The keys `addHook` accepts. */
export const ADD_HOOK_KEYS = {
  dir: true,
  perma: true,
  prepend: true,
} as const satisfies OptionKeys<AddHookOptions>;

/** The keys `resetHooks` accepts. */
export const RESET_HOOKS_KEYS = {
  includingPermanent: true,
  clearContexts: true,
  direction: true,
} as const satisfies OptionKeys<ResetHooksOptions>;

const PROCESSING_KEYS = {
  foldLn: true,
  centerWritingWeights: true,
  centerUnembed: true,
  foldValueBiases: true,
} as const satisfies OptionKeys<ProcessingOptions>;

/** The keys `fromPretrained` accepts. */
export const FROM_PRETRAINED_KEYS = {
  ...PROCESSING_KEYS,
  backend: true,
  useAttnResult: true,
  hub: true,
  wasmThreads: true,
  allowNonFinite: true,
} as const satisfies OptionKeys<FromPretrainedOptions>;

/** The keys `fromConfig` accepts. */
export const FROM_CONFIG_KEYS = {
  seed: true,
  tokenizer: true,
} as const satisfies OptionKeys<FromConfigOptions>;

/** The keys `fromStateDict` accepts. */
export const FROM_STATE_DICT_KEYS = {
  ...PROCESSING_KEYS,
  tokenizer: true,
} as const satisfies OptionKeys<FromStateDictOptions>;
