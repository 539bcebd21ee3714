/**
 * The node type of the lazy graph: one frozen tagged union keyed on `kind` (STYLE 1). Nodes are only
 * made by the interning factory in `factory.ts`, so two structurally equal nodes are the same object.
 * Per-kind data lives in `params`, so narrowing on `kind` narrows `params` too.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Slice } from './slice.js';

/** Element types the graph knows. Analyses run in float32; int32 appears in index-like leaves. */
export type DType = 'float32' | 'int32';

/** The name of an anonymous dimension. Printed as `_`. */
export const ANON = '';

/**
 * Where a leaf's tensor comes from at run time: a cache, a model's weights. The graph never owns
 * what a source returns; the source's owner does.
 */
export interface LeafSource {
  /** Names the source in error messages (`cache`, `model weights`). */
  readonly label: string;
  /** True once the owner disposed the source: materializing then fails with a clear error. */
  readonly disposed: boolean;
  /** The tensor stored under `name`, or undefined when there is none. */
  resolve(name: string): tf.Tensor | undefined;
}

/**
 * An owner-scoped store of materialized subgraphs, keyed by node identity (see `Memo`). The
 * interface lives here so node.ts needs no runtime import of the memo implementation.
 */
export interface MemoStore {
  readonly label: string;
  readonly disposed: boolean;
  get(key: Node): tf.Tensor | undefined;
  /** Takes ownership of `value`. */
  set(key: Node, value: tf.Tensor): void;
}

/** LayerNorm flavours: `ln` centers then divides by the std; `rms` only divides by the RMS. */
export type NormVariant = 'ln' | 'rms';

/** A reduction's parameters: axes normalized to be non-negative and sorted. */
export interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

/** Per-kind parameters. Adding a kind here forces every exhaustive table to handle it. */
export interface Params {
  /** A named source tensor resolved at run time; its shape is declared when the leaf is built. */
  leaf: {
    readonly name: string;
    readonly source: LeafSource;
    readonly shape: readonly number[];
    readonly dtype: DType;
    readonly dims: readonly string[];
    readonly labels: readonly string[] | undefined;
  };
  /** A tensor the graph does not own (or a number). Keyed by tensor identity. */
  const: { readonly value: tf.Tensor | number; readonly dims: readonly string[] };
  /** `x[..., s, ...]` on one dim; an integer slice drops the dim. */
  slice: { readonly dim: number; readonly slice: Slice };
  /** Inputs of one shape stacked along a new axis named `dim`; `element` gives an empty stack its shape. */
  stack: {
    readonly axis: number;
    readonly dim: string;
    readonly labels: readonly string[] | undefined;
    readonly element: { readonly shape: readonly number[]; readonly dims: readonly string[] } | undefined;
  };
  /** Inputs joined along an existing axis. */
  concat: { readonly axis: number; readonly labels: readonly string[] | undefined };
  /** `x - mean(x, -1)`. */
  center: Record<string, never>;
  /** `x / s`, `s` broadcast to `x`'s shape. */
  scale: Record<string, never>;
  /** Normalization with statistics recomputed per row; inputs `[x, weight?, bias?]`. */
  layerNorm: {
    readonly variant: NormVariant;
    readonly eps: number;
    readonly weight: boolean;
    readonly bias: boolean;
  };
  /** `sum(x * v, -1)` with `v` broadcast over `x`'s leading dims. */
  dot: Record<string, never>;
  mul: Record<string, never>;
  add: Record<string, never>;
  sub: Record<string, never>;
  /** A two-operand einsum (`'...hd,hdm->...hm'`), lowered to matMul/reshape/transpose. */
  einsum: { readonly spec: string };
  sum: ReduceParams;
  mean: ReduceParams;
  reshape: { readonly shape: readonly number[]; readonly dims: readonly string[] | undefined };
  transpose: { readonly perm: readonly number[] };
  /** `x` broadcast to a larger `shape` (numpy rules), e.g. a `[d_model]` bias to `[1, batch, pos, d_model]`. */
  broadcast: { readonly shape: readonly number[]; readonly dims: readonly string[] | undefined };
  /** The identity with new dim names and labels: the planner restores the naive root's names with it. */
  rename: { readonly dims: readonly string[]; readonly labels: readonly string[] | undefined };
  /** Materializes its input once into `store` under `key` (the subgraph as first built). */
  memo: { readonly store: MemoStore; readonly key: Node | undefined };
}

/** Every node kind. */
export type Kind = keyof Params;

/** What every node carries, whatever its kind. */
export interface NodeBase {
  /** Creation order; used only to print and to break ties deterministically. */
  readonly id: number;
  readonly inputs: readonly Node[];
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** One name per dim (`'batch'`, `'pos'`, …); {@link ANON} when unknown. */
  readonly dims: readonly string[];
  /** Labels along dim 0 (a stack's component names), when known. */
  readonly labels: readonly string[] | undefined;
}

/** The node of one kind. */
export type NodeOf<K extends Kind> = NodeBase & { readonly kind: K; readonly params: Params[K] };

/** Any node: the tagged union over {@link Kind}. */
export type Node = { [K in Kind]: NodeOf<K> }[Kind];

/** A table with one entry per kind; the compiler rejects a table that misses one (STYLE 3). */
export type KindTable<R> = { readonly [K in Kind]: (node: NodeOf<K>) => R };

/** Dispatches `node` to its kind's entry in `table`. */
export function byKind<R>(table: KindTable<R>, node: Node): R {
  // The union-to-table call needs one cast: TS cannot correlate `node.kind` with the entry's type.
  return (table[node.kind] as (n: Node) => R)(node);
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a node's value takes (4 bytes per element for both dtypes). */
export function bytesOf(node: Node): number {
  return sizeOf(node.shape) * 4;
}
