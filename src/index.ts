/**
 * lazylens: TransformerLens's hook points and ActivationCache for TensorFlow.js. Load a model with
 * {@link HookedTransformer.fromPretrained}, cache its activations with
 * {@link HookedTransformer.runWithCache}, and analyse the {@link ActivationCache} through lazy,
 * planned expressions (see the `lazylens/graph` module).
 * @module lazylens
 */
export { HookedTransformer } from './model/HookedTransformer.js';
export type {
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
  ForwardOutputOptions,
  ReturnType,
  LogitsAndLoss,
  FromConfigOptions,
  FromStateDictOptions,
  FromPretrainedOptions,
} from './model/options.js';
export { makeConfig } from './core/config.js';
export type {
  HookedTransformerConfig,
  PartialConfig,
  NormalizationType,
  ActFn,
  PositionalEmbeddingType,
} from './core/config.js';
export type { HookFn, HookContext, NameMatcher } from './model/hooks.js';
export type { ModelInput } from './core/prepareTokens.js';
export type { GenerateOptions } from './model/generate.js';
export type { ModelTokenizer } from './core/ModelTokenizer.js';
export { Llama2cTokenizer } from './loading/Llama2cTokenizer.js';
export type { StateDict } from './core/stateDict.js';
export { allHookNames, hookShape, HOOK_DIMS } from './core/hookPoints.js';
export type { HookDim } from './core/hookPoints.js';
export type { ToTokensOptions, PaddingSide } from './core/tokens.js';
export { processWeights, DEFAULT_PROCESSING } from './model/processWeights.js';
export type { ProcessingOptions } from './model/processWeights.js';
export { ActivationCache } from './cache/ActivationCache.js';
export type { ReturnLabels } from './cache/ActivationCache.js';
export type { CacheKey } from './core/hookKey.js';
export type { AccumulatedResidOptions } from './cache/accumulatedResid.js';
export type { ApplyLnOptions } from './cache/applyLnToStack.js';
export type { DecomposeResidOptions } from './cache/decomposeResid.js';
export type { FullResidDecompositionOptions } from './cache/getFullResidDecomposition.js';
export type { Projection } from './cache/project.js';
export type { GetNeuronResultsOptions } from './cache/getNeuronResults.js';
export type { LogitAttrsOptions, TokensArg } from './cache/logitAttrs.js';
export type { StackActivationOptions } from './cache/stackActivation.js';
export type { StackHeadResultsOptions } from './cache/stackHeadResults.js';
export type { StackNeuronResultsOptions } from './cache/stackNeuronResults.js';
export { getActName } from './core/getActName.js';
export { Slice } from '../graph/slice.js';
export type { SliceInput } from '../graph/slice.js';
export { selectBackend, currentBackend } from './backend/index.js';
export type { BackendName, BackendOptions } from './backend/index.js';
export * from './errors.js';
export * from './stream/index.js';
