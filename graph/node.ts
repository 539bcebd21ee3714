/**
 * The node type of the lazy graph: one frozen tagged union keyed on `kind`. Nodes are only made by
 * the interning factory in `factory.ts`, so two structurally equal nodes are the same object.
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
  /** Names the store in error messages. */
  readonly label: string;
  /** True once the owner freed the store: a memo node then fails to materialize. */
  readonly disposed: boolean;
  /** The tensor stored for `key` (still owned by the store), or undefined. */
  get(key: Node): tf.Tensor | undefined;
  /** Takes ownership of `value`. */
  set(key: Node, value: tf.Tensor): void;
}

/** LayerNorm flavours: `ln` centers then divides by the std; `rms` only divides by the RMS. */
export type NormVariant = 'ln' | 'rms';

/** A reduction's parameters: axes normalized to be non-negative and sorted. */
export interface ReduceParams {
  /** The reduced axes, non-negative and sorted. */
  readonly axes: readonly number[];
  /** Whether reduced dims stay as size 1. */
  readonly keepDims: boolean;
}

/** Per-kind parameters. Adding a kind here forces every exhaustive table to handle it. */
export interface Params {
  /** A named source tensor resolved at run time; its shape is declared when the leaf is built. */
  leaf: {
    /** The name the source resolves (a hook name, a parameter name). */
    readonly name: string;
    /** Where the tensor lives at run time. */
    readonly source: LeafSource;
    /** Declared shape; checked against the resolved tensor. */
    readonly shape: readonly number[];
    /** Declared element type. */
    readonly dtype: DType;
    /** One name per dim. */
    readonly dims: readonly string[];
    /** Labels along dim 0, when known. */
    readonly labels: readonly string[] | undefined;
  };
  /** A tensor the graph does not own (or a number). Keyed by tensor identity. */
  const: {
    /** The borrowed tensor or number. */
    readonly value: tf.Tensor | number;
    /** One name per dim. */
    readonly dims: readonly string[];
  };
  /** `x[..., s, ...]` on one dim; an integer slice drops the dim. */
  slice: {
    /** The dim sliced. */
    readonly dim: number;
    /** What it keeps. */
    readonly slice: Slice;
  };
  /** Inputs of one shape stacked along a new axis named `dim`; `element` gives an empty stack its shape. */
  stack: {
    /** Position of the new axis. */
    readonly axis: number;
    /** Name of the new dim. */
    readonly dim: string;
    /** One label per input, when known. */
    readonly labels: readonly string[] | undefined;
    /** Shape and dims of one element, declared for an empty stack. */
    readonly element:
      | {
          /** Shape of one stacked input. */
          readonly shape: readonly number[];
          /** Dim names of one stacked input. */
          readonly dims: readonly string[];
        }
      | undefined;
  };
  /** Inputs joined along an existing axis. */
  concat: {
    /** The axis joined along. */
    readonly axis: number;
    /** Labels along the result's dim 0, when known. */
    readonly labels: readonly string[] | undefined;
  };
  /** `x - mean(x, -1)`. */
  center: Record<string, never>;
  /** `x / s`, `s` broadcast to `x`'s shape. */
  scale: Record<string, never>;
  /** Normalization with statistics recomputed per row; inputs `[x, weight?, bias?]`. */
  layerNorm: {
    /** LayerNorm or RMSNorm. */
    readonly variant: NormVariant;
    /** Added to the variance before the square root. */
    readonly eps: number;
    /** Whether a gain is among the inputs. */
    readonly weight: boolean;
    /** Whether a bias is among the inputs. */
    readonly bias: boolean;
  };
  /** `sum(x * v, -1)` with `v` broadcast over `x`'s leading dims. */
  dot: Record<string, never>;
  /** Elementwise product, numpy broadcasting. */
  mul: Record<string, never>;
  /** Elementwise sum, numpy broadcasting. */
  add: Record<string, never>;
  /** Elementwise difference, numpy broadcasting. */
  sub: Record<string, never>;
  /** A two-operand einsum (`'...hd,hdm->...hm'`), lowered to matMul/reshape/transpose. */
  einsum: {
    /** The einsum equation. */
    readonly spec: string;
  };
  /** Sum over `axes`. */
  sum: ReduceParams;
  /** Mean over `axes`. */
  mean: ReduceParams;
  /** Same elements in a new shape. */
  reshape: {
    /** The new shape. */
    readonly shape: readonly number[];
    /** Names of the new dims, when given. */
    readonly dims: readonly string[] | undefined;
  };
  /** Dims permuted. */
  transpose: {
    /** Output dim i is input dim `perm[i]`. */
    readonly perm: readonly number[];
  };
  /** `x` broadcast to a larger `shape` (numpy rules), e.g. a `[d_model]` bias to `[1, batch, pos, d_model]`. */
  broadcast: {
    /** The target shape. */
    readonly shape: readonly number[];
    /** Names of the target dims, when given. */
    readonly dims: readonly string[] | undefined;
  };
  /** The identity with new dim names and labels: the planner restores the naive root's names with it. */
  rename: {
    /** The new dim names. */
    readonly dims: readonly string[];
    /** The new labels along dim 0. */
    readonly labels: readonly string[] | undefined;
  };
  /** Materializes its input once into `store` under `key` (the subgraph as first built). */
  memo: {
    /** The owner-scoped store that keeps the result. */
    readonly store: MemoStore;
    /** The memo key: the subgraph as first built (undefined: the input itself). */
    readonly key: Node | undefined;
  };
}

/** Every node kind. */
export type Kind = keyof Params;

/** What every node carries, whatever its kind. */
export interface NodeBase {
  /** Creation order; used only to print and to break ties deterministically. */
  readonly id: number;
  /** The operands, in order. */
  readonly inputs: readonly Node[];
  /** Static shape, inferred when the node was built. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** One name per dim (`'batch'`, `'pos'`, …); {@link ANON} when unknown. */
  readonly dims: readonly string[];
  /** Labels along dim 0 (a stack's component names), when known. */
  readonly labels: readonly string[] | undefined;
}

/** The node of one kind. */
export type NodeOf<K extends Kind> = NodeBase & {
  /** The tag. */
  readonly kind: K;
  /** The kind's parameters. */
  readonly params: Params[K];
};

/** Any node: the tagged union over {@link Kind}. */
export type Node = { [K in Kind]: NodeOf<K> }[Kind];

/** A table with one entry per kind; the compiler rejects one that misses a kind, so none is forgotten. */
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

/** Never a source: every node of the graph runs. */
const everyNodeRuns = (): boolean => false;

/**
 * The nodes of the roots' subgraphs in the order they run: every node after its inputs, inputs in
 * order, each node once. A node for which `isSource` holds is visited but not walked below (the
 * executor treats a memo that already holds its value this way). Uses an explicit stack, not
 * recursion: a full neuron decomposition has ~37k components, deeper than the call stack.
 */
export function topoOrder(roots: readonly Node[], isSource: (n: Node) => boolean = everyNodeRuns): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: { node: Node; next: number }[] = [];
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    stack.push({ node: root, next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const ins = isSource(top.node) ? [] : top.node.inputs;
      if (top.next < ins.length) {
        const child = ins[top.next++];
        if (!seen.has(child)) {
          seen.add(child);
          stack.push({ node: child, next: 0 });
        }
      } else {
        stack.pop();
        order.push(top.node);
      }
    }
  }
  return order;
}

/**
 * When each value of a run in `order` (from {@link topoOrder}) is freed: entry `i` lists the nodes
 * whose last consumer is `order[i]`, so their values are dropped right after it runs. Roots are never
 * freed (they are the result), and a source consumes none of its inputs. The executor frees by this
 * and the cost model estimates peaks by it, so the two agree on what is alive when.
 */
export function freedAfter(
  order: readonly Node[],
  roots: readonly Node[],
  isSource: (n: Node) => boolean = everyNodeRuns,
): Node[][] {
  const lastUse = new Map<Node, number>();
  order.forEach((n, i) => {
    if (!isSource(n)) for (const x of n.inputs) lastUse.set(x, i);
  });
  for (const r of roots) lastUse.delete(r);
  const freed = order.map((): Node[] => []);
  for (const [n, i] of lastUse) freed[i].push(n);
  return freed;
}
