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
import type { SliceInput } from './slice.js';

/** Anything a fluent op accepts as an operand: tensors and numbers become const nodes (borrowed). */
export type Operand = Lazy | Node | tf.Tensor | number;

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

/** A lazily evaluated tensor expression with static shape, dtype, named dims and optional labels. */
export class Lazy {
  /**
   * @param node the graph this handle evaluates.
   * @param planOptions planner switches used when materializing (default: every rule).
   */
  constructor(
    readonly node: Node,
    readonly planOptions: PlanOptions = PlanOptions.all(),
  ) {}

  /** Wraps an operand (a tensor is borrowed: keep it alive until materialized). */
  static of(x: Operand, planOptions?: PlanOptions): Lazy {
    return x instanceof Lazy ? x : new Lazy(toNode(x), planOptions);
  }

  /** Stacks same-shaped operands on a new axis (default 0, dim `'component'`), optionally labelled. */
  static stack(xs: readonly Operand[], opts: f.StackOptions = {}): Lazy {
    return new Lazy(f.stack(xs.map(toNode), opts), Lazy.optionsOf(xs));
  }

  /** Joins operands along an existing axis (default 0). */
  static concat(xs: readonly Operand[], opts: { axis?: number; labels?: readonly string[] } = {}): Lazy {
    return new Lazy(f.concat(xs.map(toNode), opts), Lazy.optionsOf(xs));
  }

  private static optionsOf(xs: readonly Operand[]): PlanOptions | undefined {
    return xs.find((x): x is Lazy => x instanceof Lazy)?.planOptions;
  }

  private wrap(node: Node): Lazy {
    return new Lazy(node, this.planOptions);
  }

  /** Static shape. */
  get shape(): readonly number[] {
    return this.node.shape;
  }
  /** Element type. */
  get dtype(): DType {
    return this.node.dtype;
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
  get rank(): number {
    return this.node.shape.length;
  }

  /** Slices one dim with Python semantics (an integer drops it). */
  slice(dim: number, s: SliceInput): Lazy {
    return this.wrap(f.slice(this.node, dim, s));
  }
  /** Sum over `axes` (all by default). */
  sum(axes?: number | readonly number[], keepDims = false): Lazy {
    return this.wrap(f.sum(this.node, axes, keepDims));
  }
  /** Mean over `axes` (all by default). */
  mean(axes?: number | readonly number[], keepDims = false): Lazy {
    return this.wrap(f.mean(this.node, axes, keepDims));
  }
  /** Contracts the last dim with `v` (`[d]`, or `[..., d]` broadcast over leading dims). */
  dot(v: Operand): Lazy {
    return this.wrap(f.dot(this.node, toNode(v)));
  }
  /** Elementwise product (broadcasting). */
  mul(other: Operand): Lazy {
    return this.wrap(f.mul(this.node, toNode(other)));
  }
  /** Elementwise sum (broadcasting). */
  add(other: Operand): Lazy {
    return this.wrap(f.add(this.node, toNode(other)));
  }
  /** Elementwise difference (broadcasting). */
  sub(other: Operand): Lazy {
    return this.wrap(f.sub(this.node, toNode(other)));
  }
  /** Divides by `s`, which broadcasts to this shape (an LN scale `[..., 1]`). */
  scale(s: Operand): Lazy {
    return this.wrap(f.scale(this.node, toNode(s)));
  }
  /** Subtracts the mean of the last dim. */
  center(): Lazy {
    return this.wrap(f.center(this.node));
  }
  /** LayerNorm / RMSNorm over the last dim with fresh statistics. */
  layerNorm(opts: { variant?: 'ln' | 'rms'; eps?: number; weight?: Operand; bias?: Operand } = {}): Lazy {
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
  applyLn(scale: Operand, variant: 'ln' | 'rms' = 'ln'): Lazy {
    const x = variant === 'ln' ? f.center(this.node) : this.node;
    return this.wrap(f.scale(x, toNode(scale)));
  }
  /** Two-operand einsum with this as the left operand, e.g. `z.einsum('...hd,hdm->...hm', W_O)`. */
  einsum(spec: string, other: Operand): Lazy {
    return this.wrap(f.einsum(spec, this.node, toNode(other)));
  }
  /** Reshape (one -1 allowed), optionally naming the new dims. */
  reshape(shape: readonly number[], dims?: readonly string[]): Lazy {
    return this.wrap(f.reshape(this.node, shape, dims));
  }
  /** Permutes dims. */
  transpose(perm: readonly number[]): Lazy {
    return this.wrap(f.transpose(this.node, perm));
  }
  /** Adds a size-1 dim at `axis` (as `x[..., None]` at the end by default). */
  expandDims(axis = this.rank): Lazy {
    const shape = [...this.shape];
    shape.splice(axis < 0 ? axis + this.rank + 1 : axis, 0, 1);
    return this.wrap(f.reshape(this.node, shape));
  }
  /** Requests memoization in `store` (e.g. a cache's `Memo`): computed at most once while it lives. */
  memoize(store: MemoStore): Lazy {
    return this.wrap(f.memo(this.node, store));
  }
  /** The same graph planned with other switches. */
  withPlanOptions(planOptions: PlanOptions): Lazy {
    return new Lazy(this.node, planOptions);
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
  /** Materializes to nested arrays of this `shape`, leaving no tensor behind. */
  async array(opts: MaterializeOptions = {}): Promise<unknown> {
    const t = this.tensor(opts);
    try {
      return await t.array();
    } finally {
      t.dispose();
    }
  }
  /** Materializes to a flat typed array of this `shape`'s size (row-major), leaving no tensor behind. */
  async data(opts: MaterializeOptions = {}): Promise<Float32Array | Int32Array> {
    const t = this.tensor(opts);
    try {
      return (await t.data()) as Float32Array | Int32Array;
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
