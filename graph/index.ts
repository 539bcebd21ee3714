/**
 * lazylens/graph: the lazy expression-graph engine. It knows tensors, not transformers; src/ builds
 * the interpretability library on it. Named re-exports only, so the public surface is exactly what
 * this file lists.
 * @module lazylens/graph
 */
export {
  Lazy,
  toNode,
  hasLabels,
  type Operand,
  type MaterializeOptions,
  type AnyLazy,
  type LabelledLazy,
  type RankOf,
  type DTypeOf,
} from './Lazy.js';
export type {
  KnownRank,
  NestedArray,
  TypedArrayOf,
  RankPlus1,
  RankMinus1,
  MaxRank,
  RankOfTensor,
} from './rank.js';
export { Slice, normalizeIndex, type SliceInput, type SliceRange, type SliceMode } from './slice.js';
export {
  LazylensError,
  ShapeError,
  SliceError,
  UnresolvedLeafError,
  DisposedError,
  PlanError,
  ResourceLimitError,
} from './errors.js';
export {
  ANON,
  bytesOf,
  sizeOf,
  topoOrder,
  freedAfter,
  type Node,
  type NodeOf,
  type Kind,
  type Params,
  type DType,
  type LeafSource,
  type MemoStore,
  type NormVariant,
  type NodeBase,
  type KindTable,
  type ReduceParams,
} from './node.js';
export {
  add,
  broadcast,
  center,
  concat,
  constant,
  dot,
  einsum,
  layerNorm,
  leaf,
  mean,
  memo,
  mul,
  rename,
  reshape,
  scale,
  slice,
  stack,
  sub,
  sum,
  transpose,
  type LeafOptions,
  type StackOptions,
  type LayerNormOptions,
} from './factory.js';
export { TensorSource, functionSource } from './TensorSource.js';
export { Memo } from './Memo.js';
export { PlanOptions } from './PlanOptions.js';
export { plan, rewrite, type Plan, type Firing } from './planner.js';
export { rules, type Rule, type RuleFlag } from './rules.js';
export type { Pattern, Captures } from './pattern.js';
export { addAll } from './pushdown.js';
export { execute, executeMany, executeNamed, type ExecStats, type ExecuteOptions } from './executor.js';
export { estimate, costRules, type GraphCost, type NodeCost } from './cost.js';
export { validatePlan } from './validate.js';
export { explainPlan, formatGraph, formatBytes, toDot, type FormatOptions } from './explain.js';
export { chunkedMatMul } from './chunkedMatMul.js';
export {
  deviceBindingLimit,
  planningLimit,
  setDeviceBindingLimit,
  setPlanningLimit,
} from './bindingLimit.js';
