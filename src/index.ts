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
} from './model/HookedTransformer.js';
export { makeConfig } from './model/config.js';
export type {
  HookedTransformerConfig,
  PartialConfig,
  NormalizationType,
  ActFn,
  PositionalEmbeddingType,
} from './model/config.js';
export type { HookFn, HookContext, NameMatcher } from './model/hooks.js';
export type { ModelInput } from './model/prepareTokens.js';
export type { GenerateOptions } from './model/generate.js';
export type { ModelTokenizer } from './model/ModelTokenizer.js';
export { Llama2cTokenizer } from './loading/Llama2cTokenizer.js';
export type { StateDict } from './model/stateDict.js';
export { allHookNames, hookShape, HOOK_DIMS } from './model/hookPoints.js';
export type { HookDim } from './model/hookPoints.js';
export type { ToTokensOptions, PaddingSide } from './loading/tokens.js';
export { processWeights, DEFAULT_PROCESSING } from './model/processWeights.js';
export type { ProcessingOptions } from './model/processWeights.js';
export { ActivationCache } from './cache/ActivationCache.js';
export type { CacheKey, ReturnLabels } from './cache/ActivationCache.js';
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
export { getActName } from './cache/getActName.js';
export { Slice } from '../graph/slice.js';
export type { SliceInput } from '../graph/slice.js';
export { selectBackend, currentBackend, backendInfo } from './backend/index.js';
export type {
  BackendName,
  BackendOptions,
  BackendInfo,
  GpuAdapterReport,
  GpuLimits,
} from './backend/index.js';
export * from './errors.js';
export * from './stream/index.js';
