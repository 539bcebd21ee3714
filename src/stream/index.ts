/**
 * lazylens/stream: caches over a stream of prompt batches (rxjs), disposed as they pass, with
 * bounded memory. Named re-exports only.
 */
export { streamCaches } from './streamCaches.js';
export type {
  CacheBatch,
  PromptInput,
  PromptRecord,
  StreamCachesOptions,
  StreamModel,
} from './CacheBatch.js';
export type { LeasedBatch } from './BatchLease.js';
export type { PromptSource } from './promptReader.js';
export { lastTokenIndex } from './lastTokenIndex.js';
export { lastTokenDla, answerIds, type LastTokenDlaOptions } from './lastTokenDla.js';
export { useBatch } from './useBatch.js';
export { mapToLazy, type LazyBatch } from './mapToLazy.js';
export { materialize, type Materialized, type NestedNumbers } from './materialize.js';
export { keep, type Kept, type KeptValue } from './keep.js';
export { sumOver, type SumOverOptions } from './sumOver.js';
export { meanOver, type MeanOverOptions } from './meanOver.js';
export { concatOver, type ConcatOverOptions } from './concatOver.js';
export { progress, type ProgressInfo, type ProgressOptions } from './progress.js';
export type { Reducible } from './reducible.js';
export {
  streamDla,
  type DlaComponents,
  type StreamDlaOptions,
  type DlaTable,
  type DlaLine,
} from './streamDla.js';
