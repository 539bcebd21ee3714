/**
 * `Lazy`: the user-facing handle on a graph node. Building with it is cheap and checks shapes at once;
 * nothing runs until `tensor()`, `array()` or `data()`, which plan the graph, execute it and leave
 * nothing behind but the returned value.
 */
import * as tf from '@tensorflow/tfjs';
import { explainPlan, toDot } from './explain.js';
import { execute, type ExecStats } from './executor.js';
import * as f from './factory.js';
import type { DType, MemoStore, Node } from './node.js';
import { plan, type Plan } from './planner.js';
import { PlanOptions } from './PlanOptions.js';
import type { MaxRank, NestedArray, RankMinus1, RankOfTensor, RankPlus1, TypedArrayOf } from './rank.js';
import type { SliceInput, SliceRange } from './slice.js';

/** Anything a fluent op accepts as an operand: tensors and numbers become const nodes (borrowed). */
export type Operand = AnyLazy | Node | tf.Tensor | number;

/** A `Lazy` of any rank and dtype. */
export type AnyLazy = Lazy<number, DType>;

/** The rank of an operand: a `Lazy`'s own, 0 for a number, a typed tensor's (`tf.Tensor2D`: 2), else unknown. */
export type RankOf<O> =
  O extends Lazy<infer R, DType> ? R : O extends number ? 0 : O extends tf.Tensor ? RankOfTensor<O> : number;

/** The dtype of an operand: a `Lazy`'s own, float32 for a number, else either. */
export type DTypeOf<O> = O extends Lazy<number, infer D> ? D : O extends number ? 'float32' : DType;

/**
 * A `Lazy` whose labels along dim 0 are known to be there (a labelled stack, a cache's stacked
 * components), so `labels` needs no undefined check.
 */
export type LabelledLazy<R extends number = number, D extends DType = DType> = Lazy<R, D> & {
  /** Labels along dim 0, one per entry. */
  readonly labels: readonly string[];
};

/** Whether `x` carries labels along dim 0, narrowing it to a {@link LabelledLazy}. */
export function hasLabels<R extends number, D extends DType>(x: Lazy<R, D>): x is LabelledLazy<R, D> {
  return x.labels !== undefined;
}

/** Options of a materialization. */
export interface MaterializeOptions {
  /** Planner switches; defaults to the `Lazy`'s own, then to `PlanOptions.all()`. */
  readonly plan?: PlanOptions;
  /** Filled with the executor's measurements (peak bytes, steps). */
  readonly stats?: ExecStats;
}

/** Turns an operand into a node. */
export function toNode(x: Operand): Node {
  if (x instanceof Lazy) return x.node;
  if (typeof x === 'number' || x instanceof tf.Tensor) return f.constant(x);
  return x;
}

/**
 * A lazily evaluated tensor expression with static shape, dtype, named dims and optional labels.
 * `R` is its rank and `D` its dtype where the types know them (then `array()` returns `number[][]`
 * for a rank-2 value, and `data()` a `Float32Array` for float32); `number` and `DType` where not.
 * @example
 * const attrs = Lazy.of(stackTensor3D).dot(direction); // Lazy<2, DType>
 * const rows = await attrs.array(); // number[][]
 */
export class Lazy<out R extends number = number, out D extends DType = DType> {
  /**
   * @param node the graph this handle evaluates.
   * @param planOptions planner switches used when materializing (default: every rule).
   */
  constructor(
    readonly node: Node,
    readonly planOptions: PlanOptions = PlanOptions.all(),
  ) {}

  /** Wraps an operand (a tensor is borrowed: keep it alive until materialized). */
  static of<O extends Operand>(x: O, planOptions?: PlanOptions): Lazy<RankOf<O>, DTypeOf<O>> {
    return (x instanceof Lazy ? x : new Lazy(toNode(x), planOptions)) as Lazy<RankOf<O>, DTypeOf<O>>;
  }

  /** Stacks same-shaped operands on a new axis (default 0, dim `'component'`), labelled when `labels` is given. */
  static stack<O extends Operand>(
    xs: readonly O[],
    opts: f.StackOptions & { readonly labels: readonly string[] },
  ): LabelledLazy<RankPlus1<RankOf<O>>, DTypeOf<O>>;
  static stack<O extends Operand>(
    xs: readonly O[],
    opts?: f.StackOptions,
  ): Lazy<RankPlus1<RankOf<O>>, DTypeOf<O>>;
  static stack(xs: readonly Operand[], opts: f.StackOptions = {}): AnyLazy {
    return new Lazy(f.stack(xs.map(toNode), opts), Lazy.optionsOf(xs));
  }

  /** Joins operands along an existing axis (default 0). */
  static concat<O extends Operand>(
    xs: readonly O[],
    opts: { axis?: number; labels?: readonly string[] } = {},
  ): Lazy<RankOf<O>, DTypeOf<O>> {
    return new Lazy(f.concat(xs.map(toNode), opts), Lazy.optionsOf(xs));
  }

  private static optionsOf(xs: readonly Operand[]): PlanOptions | undefined {
    return xs.find((x): x is AnyLazy => x instanceof Lazy)?.planOptions;
  }

  // The rank and dtype of the result are the caller's to state: each op knows how it changes them.
  private wrap<R2 extends number, D2 extends DType>(node: Node): Lazy<R2, D2> {
    return new Lazy<R2, D2>(node, this.planOptions);
  }

  /** Static shape. */
  get shape(): readonly number[] {
    return this.node.shape;
  }
  /** Element type. */
  get dtype(): D {
    return this.node.dtype as D;
  }
  /** One name per dim. */
  get dims(): readonly string[] {
    return this.node.dims;
  }
  /** Labels along dim 0 (a stack's component names), when known. */
  get labels(): readonly string[] | undefined {
    return this.node.labels;
  }
  /** Number of dims. */
  get rank(): R {
    return this.node.shape.length as R;
  }

  /** Slices one dim with Python semantics (an integer drops it). */
  slice(dim: number, s: number): Lazy<RankMinus1<R>, D>;
  slice(dim: number, s: null | undefined | readonly number[] | Int32Array | SliceRange): Lazy<R, D>;
  slice(dim: number, s: SliceInput): Lazy<number, D>;
  slice(dim: number, s: SliceInput): AnyLazy {
    return this.wrap(f.slice(this.node, dim, s));
  }
  /** Sum over `axes` (all by default); `keepDims` keeps them as size 1. */
  sum(): Lazy<0, D>;
  sum(axes: number, keepDims?: false): Lazy<RankMinus1<R>, D>;
  sum(axes: number | readonly number[] | undefined, keepDims: true): Lazy<R, D>;
  sum(axes?: number | readonly number[], keepDims?: boolean): Lazy<number, D>;
  sum(axes?: number | readonly number[], keepDims = false): AnyLazy {
    return this.wrap(f.sum(this.node, axes, keepDims));
  }
  /** Mean over `axes` (all by default); `keepDims` keeps them as size 1. */
  mean(): Lazy<0, 'float32'>;
  mean(axes: number, keepDims?: false): Lazy<RankMinus1<R>, 'float32'>;
  mean(axes: number | readonly number[] | undefined, keepDims: true): Lazy<R, 'float32'>;
  mean(axes?: number | readonly number[], keepDims?: boolean): Lazy<number, 'float32'>;
  mean(axes?: number | readonly number[], keepDims = false): AnyLazy {
    return this.wrap(f.mean(this.node, axes, keepDims));
  }
  /** Contracts the last dim with `v` (`[d]`, or `[..., d]` broadcast over leading dims). */
  dot<O extends Operand>(v: O): Lazy<RankMinus1<MaxRank<R, RankOf<O>>>, D> {
    return this.wrap(f.dot(this.node, toNode(v)));
  }
  /** Elementwise product (broadcasting). */
  mul<O extends Operand>(other: O): Lazy<MaxRank<R, RankOf<O>>, D> {
    return this.wrap(f.mul(this.node, toNode(other)));
  }
  /** Elementwise sum (broadcasting). */
  add<O extends Operand>(other: O): Lazy<MaxRank<R, RankOf<O>>, D> {
    return this.wrap(f.add(this.node, toNode(other)));
  }
  /** Elementwise difference (broadcasting). */
  sub<O extends Operand>(other: O): Lazy<MaxRank<R, RankOf<O>>, D> {
    return this.wrap(f.sub(this.node, toNode(other)));
  }
  /** Divides by `s`, which broadcasts to this shape (an LN scale `[..., 1]`). */
  scale(s: Operand): Lazy<R, 'float32'> {
    return this.wrap(f.scale(this.node, toNode(s)));
  }
  /** Subtracts the mean of the last dim. */
  center(): Lazy<R, 'float32'> {
    return this.wrap(f.center(this.node));
  }
  /** LayerNorm / RMSNorm over the last dim with fresh statistics. */
  layerNorm(
    opts: { variant?: 'ln' | 'rms'; eps?: number; weight?: Operand; bias?: Operand } = {},
  ): Lazy<R, 'float32'> {
    const { weight, bias, ...rest } = opts;
    return this.wrap(
      f.layerNorm(this.node, {
        ...rest,
        weight: weight === undefined ? undefined : toNode(weight),
        bias: bias === undefined ? undefined : toNode(bias),
      }),
    );
  }
  /**
   * TransformerLens's cached-scale LN application: center (for LN, not RMS) and divide by `scale`.
   * Linear in this tensor, so the planner can push a `dot` through it.
   */
  applyLn(scale: Operand, variant: 'ln' | 'rms' = 'ln'): Lazy<R, 'float32'> {
    const x = variant === 'ln' ? f.center(this.node) : this.node;
    return this.wrap(f.scale(x, toNode(scale)));
  }
  /** Two-operand einsum with this as the left operand, e.g. `z.einsum('...hd,hdm->...hm', W_O)`. */
  einsum<O extends Operand>(spec: string, other: O): Lazy<number, D> {
    return this.wrap(f.einsum(spec, this.node, toNode(other)));
  }
  /** Reshape (one -1 allowed), optionally naming the new dims; the rank is the target's length. */
  reshape<const S extends readonly number[]>(shape: S, dims?: readonly string[]): Lazy<S['length'], D> {
    return this.wrap(f.reshape(this.node, shape, dims));
  }
  /** Permutes dims. */
  transpose(perm: readonly number[]): Lazy<R, D> {
    return this.wrap(f.transpose(this.node, perm));
  }
  /** Adds a size-1 dim at `axis` (as `x[..., None]` at the end by default). */
  expandDims(axis: number = this.rank): Lazy<RankPlus1<R>, D> {
    const shape = [...this.shape];
    shape.splice(axis < 0 ? axis + this.rank + 1 : axis, 0, 1);
    return this.wrap(f.reshape(this.node, shape));
  }
  /** Requests memoization in `store` (e.g. a cache's `Memo`): computed at most once while it lives. */
  memoize(store: MemoStore): Lazy<R, D> {
    return this.wrap(f.memo(this.node, store));
  }
  /** The same graph planned with other switches. */
  withPlanOptions(planOptions: PlanOptions): Lazy<R, D> {
    return new Lazy<R, D>(this.node, planOptions);
  }

  /** Plans this graph (no execution). */
  plan(options: PlanOptions = this.planOptions): Plan {
    return plan(this.node, options);
  }
  /** Materializes: plans, runs and returns a tensor of this `shape` (and `dtype`) that the caller owns and must dispose. */
  tensor(opts: MaterializeOptions = {}): tf.Tensor {
    const p = plan(this.node, opts.plan ?? this.planOptions);
    return execute(p.root, { stats: opts.stats });
  }
  /** Materializes to nested arrays of this `shape` (`number[][]` for rank 2), leaving no tensor behind. */
  async array(opts: MaterializeOptions = {}): Promise<NestedArray<R>> {
    const t = this.tensor(opts);
    try {
      return await t.array();
    } finally {
      t.dispose();
    }
  }
  /**
   * Materializes to a flat typed array of this `shape`'s size (row-major), leaving no tensor behind:
   * a `Float32Array` for float32, an `Int32Array` for int32.
   */
  async data(opts: MaterializeOptions = {}): Promise<TypedArrayOf<D>> {
    const t = this.tensor(opts);
    try {
      return await t.data();
    } finally {
      t.dispose();
    }
  }
  /**
   * The `k` largest entries along the last dim, materialized; the caller owns both tensors.
   * @returns `values` (float32) and `indices` (int32), each `[...leading dims, k]`.
   */
  topk(
    k: number,
    sorted = true,
    opts: MaterializeOptions = {},
  ): {
    /** The largest entries, `[...leading dims, k]`. */
    values: tf.Tensor;
    /** Their positions along the last dim, `[...leading dims, k]` (int32). */
    indices: tf.Tensor;
  } {
    const t = this.tensor(opts);
    try {
      return tf.topk(t, k, sorted);
    } finally {
      t.dispose();
    }
  }
  /** The naive and planned plans with shapes, dims, bytes and the rules that fired (stable text). */
  explain(options: PlanOptions = this.planOptions): string {
    return explainPlan(plan(this.node, options));
  }
  /** Graphviz text of the planned graph (or the naive one with `planned = false`). */
  toDot(planned = true): string {
    return toDot(planned ? plan(this.node, this.planOptions).root : this.node);
  }
}
