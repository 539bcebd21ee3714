/**
 * lazylens: TransformerLens's hook points and ActivationCache for TensorFlow.js. Load a model with
 * {@link HookedTransformer.fromPretrained}, cache its activations with
 * {@link HookedTransformer.runWithCache}, and analyse the {@link ActivationCache} through lazy,
 * planned expressions ({@link Lazy}; the engine itself is the `lazylens/graph` module).
 * @module lazylens
 */

// ---- the model ----
export { HookedTransformer } from './model/HookedTransformer.js';
export type {
  RunOptions,
  RunWithCacheOptions,
  RunWithHooksOptions,
  ForwardOutputOptions,
  ForwardResult,
  LossResult,
  CachedResult,
  ReturnType,
  LogitsWanted,
  LogitsAndLoss,
  FromConfigOptions,
  FromStateDictOptions,
  FromPretrainedOptions,
  WithHooksSpec,
} from './model/options.js';
export type { HookFn, HookContext, HookDirection, NameMatcher } from './model/hooks.js';
export type { AddHookOptions, ResetHooksOptions } from './model/HookRegistry.js';
export type { Metric } from './model/gradPass.js';
export type { PosSliceInput } from './model/posSlice.js';
export type { GenerateOptions } from './model/generate.js';
export { processWeights, DEFAULT_PROCESSING } from './model/processWeights.js';
export type { ProcessingOptions } from './model/processWeights.js';

// ---- configs, hook points, tokens (the shared vocabulary) ----
export { makeConfig, deriveConfig } from './core/config.js';
export type {
  HookedTransformerConfig,
  PartialConfig,
  NormalizationType,
  ActFn,
  PositionalEmbeddingType,
} from './core/config.js';
export { allHookNames, hookDims, hookShape, posAxis, HOOK_DIMS } from './core/hookPoints.js';
export type { HookDim } from './core/hookPoints.js';
export { getActName } from './core/getActName.js';
export type { CacheKey } from './core/hookKey.js';
export type { ModelInput, TokenOptions } from './core/prepareTokens.js';
export type { ModelTokenizer } from './core/ModelTokenizer.js';
export type { ToTokensOptions, PaddingSide } from './core/tokens.js';
export type { StateDict } from './core/stateDict.js';
export { Llama2cTokenizer } from './loading/Llama2cTokenizer.js';

// ---- the cache and its analyses ----
export { ActivationCache } from './cache/ActivationCache.js';
export type { ReturnLabels } from './cache/ActivationCache.js';
export type { AccumulatedResidOptions } from './cache/methods/accumulatedResid.js';
export type { ApplyLnOptions } from './cache/methods/applyLnToStack.js';
export type { DecomposeResidOptions } from './cache/methods/decomposeResid.js';
export type { FullResidDecompositionOptions } from './cache/methods/getFullResidDecomposition.js';
export type { Projection } from './cache/project.js';
export type { GetNeuronResultsOptions } from './cache/methods/getNeuronResults.js';
export type { LogitAttrsOptions, TokensArg } from './cache/methods/logitAttrs.js';
export type { StackActivationOptions } from './cache/methods/stackActivation.js';
export type { StackHeadResultsOptions } from './cache/methods/stackHeadResults.js';
export type { StackNeuronResultsOptions } from './cache/methods/stackNeuronResults.js';

// ---- patching: attribution patching (first-order estimates from one backward pass) ----
export { attributionPatching } from './patching/attributionPatching.js';
export type {
  AttributionActivation,
  AttributionPatchingOptions,
  AttributionResult,
  LabelledScores,
} from './patching/attributionPatching.js';

// ---- lazy results and the planner ----
export { Lazy } from '../graph/Lazy.js';
export type { MaterializeOptions, Operand } from '../graph/Lazy.js';
export { PlanOptions } from '../graph/PlanOptions.js';
export { Slice } from '../graph/slice.js';
export type { SliceInput, SliceRange } from '../graph/slice.js';

// ---- streams of prompt batches ----
export {
  streamCaches,
  streamDla,
  lastTokenIndex,
  lastTokenDla,
  answerIds,
  useBatch,
  mapToLazy,
  materialize,
  keep,
  sumOver,
  meanOver,
  concatOver,
  progress,
} from './stream/index.js';
export type {
  CacheBatch,
  PromptInput,
  PromptRecord,
  StreamCachesOptions,
  StreamModel,
  LeasedBatch,
  PromptSource,
  LastTokenDlaOptions,
  LazyBatch,
  Materialized,
  NestedNumbers,
  Kept,
  KeptValue,
  SumOverOptions,
  MeanOverOptions,
  ConcatOverOptions,
  ProgressInfo,
  ProgressOptions,
  Reducible,
  DlaComponents,
  StreamDlaOptions,
  DlaTable,
  DlaLine,
} from './stream/index.js';

// ---- loading by name from the Hugging Face Hub ----
export type { HubOptions } from './loading/hub/HubOptions.js';
export type { DownloadProgress } from './loading/hub/DownloadProgressBar.js';
export { officialModelName } from './loading/hub/modelAliases.js';

// ---- backends ----
export { selectBackend, currentBackend, wasmThreading, backendInfo } from './backend/index.js';
export type {
  BackendName,
  BackendOptions,
  WasmThreading,
  BackendInfo,
  GpuAdapterReport,
  GpuLimits,
  NativeBlasReport,
} from './backend/index.js';

// ---- errors: every class the library throws ----
export {
  LazylensError,
  UnknownKeyError,
  BadLayerError,
  BackendError,
  CheckpointError,
  ConfigError,
  TokenError,
  InvalidArgumentError,
  BatchDimError,
  StreamError,
  HubError,
  ModelNotFoundError,
  HubAuthError,
  HubUnreachableError,
  HubIntegrityError,
  UsageError,
  CliError,
  ShapeError,
  SliceError,
  UnresolvedLeafError,
  DisposedError,
  PlanError,
  ResourceLimitError,
} from './errors.js';
export type { StreamErrorWhere } from './errors.js';

// ---- circuits: factored matrices, OV/QK circuits, composition scores, head detection, test_prompt ----
export { FactoredMatrix } from './weights/FactoredMatrix.js';
export type { Eigenvalues, LeadingIndex } from './weights/FactoredMatrix.js';
export type { FactoredSvd } from './weights/factoredSvd.js';
export { OV, QK } from './weights/headCircuits.js';
export type { AttentionWeights } from './weights/headCircuits.js';
export { compositionScores, allCompositionScores } from './weights/compositionScores.js';
export type {
  CompositionMode,
  CompositionScoresOptions,
  AllCompositionScoresOptions,
} from './weights/compositionScores.js';
export { detectHead } from './circuits/detectHead.js';
export type { DetectHeadOptions, HeadName } from './circuits/detectHead.js';
export {
  computeHeadAttentionSimilarityScore,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  getPreviousTokenHeadDetectionPattern,
} from './circuits/headDetectionPatterns.js';
export type { ErrorMeasure, PatternMatrix, SimilarityOptions } from './circuits/headDetectionPatterns.js';
export { testPrompt } from './circuits/testPrompt.js';
export type {
  RankedToken,
  TestPromptOptions,
  TestPromptPosition,
  TestPromptResult,
} from './circuits/testPrompt.js';

// ---- visualisation: self-contained HTML pages (the CLI's --html reports draw with the same code) ----
export { attentionPatternsHtml } from './report/attentionPatterns.js';
export type { AttentionPatternsOptions } from './report/attentionPatterns.js';
export { dlaBarsHtml } from './report/dlaBars.js';
export type { DlaBarsInput, DlaBarsOptions, DlaSortBy } from './report/dlaBars.js';
export { heatmapHtml } from './report/heatmap.js';
export type { HeatmapHtmlOptions, HeatmapColorScale } from './report/heatmap.js';
export { coloredTokensHtml } from './report/coloredTokens.js';
export type { ColoredTokensOptions } from './report/coloredTokens.js';
export type { NumericInput } from './report/readValues.js';

// ---- activation patching (TransformerLens's `patching` module) ----
export { genericActivationPatch } from './patching/genericActivationPatch.js';
export type { ActPatchOptions, GenericActivationPatchOptions } from './patching/genericActivationPatch.js';
export {
  ACT_PATCH_PRESETS,
  getActPatchResidPre,
  getActPatchResidMid,
  getActPatchAttnOut,
  getActPatchMlpOut,
  getActPatchAttnHeadOutByPos,
  getActPatchAttnHeadQByPos,
  getActPatchAttnHeadKByPos,
  getActPatchAttnHeadVByPos,
  getActPatchAttnHeadPatternByPos,
  getActPatchAttnHeadPatternDestSrcPos,
  getActPatchAttnHeadOutAllPos,
  getActPatchAttnHeadQAllPos,
  getActPatchAttnHeadKAllPos,
  getActPatchAttnHeadVAllPos,
  getActPatchAttnHeadPatternAllPos,
} from './patching/actPatchPresets.js';
export type { ActPatchFn, ActPatchPreset, ActPatchPresetName } from './patching/actPatchPresets.js';
export {
  getActPatchBlockEvery,
  getActPatchAttnHeadAllPosEvery,
  getActPatchAttnHeadByPosEvery,
} from './patching/actPatchEvery.js';
export { getActPatch, ACT_PATCH_NAMES } from './patching/getActPatch.js';
export { logitDiffMetric } from './patching/logitDiffMetric.js';
export type { PatchingMetric } from './patching/patchingMetric.js';
export type { ActPatchResult } from './patching/ActPatchResult.js';
export type { PatchAxis } from './patching/patchAxes.js';
