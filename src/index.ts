/**
 * lazylens: TransformerLens's hook points and ActivationCache for TensorFlow.js.
 * @packageDocumentation
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
} from './model/HookedTransformer.js';
export { makeConfig } from './model/config.js';
export type { HookedTransformerConfig, PartialConfig, NormalizationType, ActFn } from './model/config.js';
export type { HookFn, HookContext, NameMatcher } from './model/hooks.js';
export type { ModelInput } from './model/prepareTokens.js';
export type { GenerateOptions } from './model/generate.js';
export type { ModelTokenizer } from './model/ModelTokenizer.js';
export { Llama2cTokenizer } from './loading/Llama2cTokenizer.js';
export type { StateDict } from './model/stateDict.js';
export { allHookNames, hookShape, HOOK_DIMS } from './model/hookPoints.js';
export { processWeights, DEFAULT_PROCESSING } from './model/processWeights.js';
export type { ProcessingOptions } from './model/processWeights.js';
export { ActivationCache } from './cache/ActivationCache.js';
export type { CacheKey } from './cache/ActivationCache.js';
export { getActName } from './cache/getActName.js';
export { Slice } from '../graph/slice.js';
export type { SliceInput } from '../graph/slice.js';
export { selectBackend, currentBackend } from './backend/index.js';
export type { BackendName, BackendOptions } from './backend/index.js';
export * from './errors.js';
