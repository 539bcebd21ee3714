/**
 * The one interning factory: every node is built by {@link make}, which hash-conses on kind, input
 * identities and parameters. Building the same node twice returns the same frozen object, so
 * identity is equality, common subexpressions are shared and memos can key on nodes.
 */
import type * as tf from '@tensorflow/tfjs';
import { ShapeError } from './errors.js';
import {
  ANON,
  type DType,
  type Kind,
  type LeafSource,
  type MemoStore,
  type Node,
  type NodeOf,
  type NormVariant,
  type Params,
} from './node.js';
import { normAxis, shapeRules } from './shapeRules.js';
import { Slice, type SliceInput } from './slice.js';

// Objects that appear in params (sources, tensors, memo stores) are keyed by a stable per-object id.
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(o, id);
  }
  return id;
}

let nextNodeId = 1;

// Label lists (37k entries for a full neuron decomposition) are interned by content once per array
// object, so node keys carry a short id and equal lists are one shared frozen array.
interface Canon {
  readonly id: number;
  readonly labels: readonly string[];
}
const canonByArray = new WeakMap<readonly string[], Canon>();
const canonByContent = new Map<string, WeakRef<Canon>>();
const canonGone = new FinalizationRegistry<string>((text) => {
  if (canonByContent.get(text)?.deref() === undefined) canonByContent.delete(text);
});
let nextLabelsId = 1;
function canonLabels(labels: readonly string[]): Canon {
  const known = canonByArray.get(labels);
  if (known) return known;
  const text = labels.join('\u0000') + `\u0001${labels.length}`;
  let canon = canonByContent.get(text)?.deref();
  if (!canon) {
    canon = { id: nextLabelsId++, labels: Object.freeze([...labels]) };
    canonByContent.set(text, new WeakRef(canon));
    canonGone.register(canon, text);
    canonByArray.set(canon.labels, canon);
  }
  canonByArray.set(labels, canon);
  return canon;
}
const labelsKey = (labels: readonly string[] | undefined): string =>
  labels ? `L${canonLabels(labels).id}` : '-';

const list = (xs: readonly (string | number)[] | undefined): string => (xs ? `[${xs.join(',')}]` : '-');

/** How each kind's params enter the interning key (exhaustive: a new kind cannot be forgotten). */
const paramKeys: { readonly [K in Kind]: (p: Params[K]) => string } = {
  leaf: (p) =>
    `${JSON.stringify(p.name)}@${idOf(p.source)}${list(p.shape)}${p.dtype}${list(p.dims)}${labelsKey(p.labels)}`,
  const: (p) => `${typeof p.value === 'number' ? `n${p.value}` : `t${idOf(p.value)}`}${list(p.dims)}`,
  slice: (p) => `${p.dim}|${p.slice.mode}${p.slice.toString()}`,
  stack: (p) => `${p.axis}|${p.dim}|${labelsKey(p.labels)}|${list(p.element?.shape)}${list(p.element?.dims)}`,
  concat: (p) => `${p.axis}|${labelsKey(p.labels)}`,
  center: () => '',
  scale: () => '',
  layerNorm: (p) => `${p.variant}|${p.eps}|${p.weight}|${p.bias}`,
  dot: () => '',
  mul: () => '',
  add: () => '',
  sub: () => '',
  einsum: (p) => p.spec,
  sum: (p) => `${list(p.axes)}|${p.keepDims}`,
  mean: (p) => `${list(p.axes)}|${p.keepDims}`,
  reshape: (p) => `${list(p.shape)}|${list(p.dims)}`,
  transpose: (p) => list(p.perm),
  broadcast: (p) => `${list(p.shape)}|${list(p.dims)}`,
  rename: (p) => `${list(p.dims)}|${labelsKey(p.labels)}`,
  memo: (p) => `${idOf(p.store)}|${p.key?.id ?? '-'}`,
};

/*
 * Where interned nodes live. A WeakRef keeps its target alive until the current job ends, so a
 * table of WeakRefs holds every node built in a loop that only awaits (no macrotask between turns)
 * until the loop ends. Instead, each node is stored under the objects it depends on, its anchors:
 * the sources of its leaves, the tensors of its consts and its memo stores. Scopes are nested
 * WeakMaps keyed by those anchors in a fixed order, so a stored node lives only while every one of
 * its anchors does: once a cache's source is dropped, every node over it can be collected at the
 * next garbage collection, whatever job is running. Nodes over nothing but numbers (number consts,
 * empty stacks) have no anchor; they alone go in a table of WeakRefs and anchor themselves.
 */
interface Scope {
  /** The anchors of every node stored here, in id order. */
  readonly anchors: readonly object[];
  /** The nodes over exactly these anchors, by interning key. */
  readonly nodes: Map<string, Node>;
  /** The scopes with one more anchor, keyed by it. */
  readonly inner: WeakMap<object, Scope>;
}
const scopes = new WeakMap<object, Scope>();
const scopeOf = new WeakMap<Node, Scope>();
const unanchored = new Map<string, WeakRef<Node>>();
const unanchoredGone = new FinalizationRegistry<string>((key) => {
  if (unanchored.get(key)?.deref() === undefined) unanchored.delete(key);
});

/** The scope over `anchors` (sorted by id, distinct), made on first use. */
function scopeAt(anchors: readonly object[]): Scope {
  let map = scopes;
  let scope: Scope | undefined;
  for (let i = 0; i < anchors.length; i++) {
    let next = map.get(anchors[i]);
    if (!next) {
      next = { anchors: anchors.slice(0, i + 1), nodes: new Map(), inner: new WeakMap() };
      map.set(anchors[i], next);
    }
    scope = next;
    map = next.inner;
  }
  return scope as Scope;
}

/** Objects in params that a node holds on to and so depends on. */
function paramAnchors(kind: Kind, params: Params[Kind]): object[] {
  if (kind === 'leaf') return [(params as Params['leaf']).source];
  if (kind === 'const') {
    const v = (params as Params['const']).value;
    return typeof v === 'number' ? [] : [v];
  }
  if (kind === 'memo') {
    const { store, key } = params as Params['memo'];
    return [store, ...(key ? anchorsOf(key) : [])];
  }
  return [];
}

const anchorsOf = (n: Node): readonly object[] => (scopeOf.get(n) as Scope).anchors;

/** The scope a node over `inputs` with `extra` anchors belongs to; undefined when it has no anchor. */
function scopeFor(inputs: readonly Node[], extra: readonly object[]): Scope | undefined {
  const first = inputs.length > 0 ? scopeOf.get(inputs[0]) : undefined;
  if (first && extra.length === 0 && inputs.every((x) => scopeOf.get(x) === first)) return first;
  const all = new Set<object>(extra);
  for (const x of inputs) for (const a of anchorsOf(x)) all.add(a);
  if (all.size === 0) return undefined;
  return scopeAt([...all].sort((a, b) => idOf(a) - idOf(b)));
}

/** Builds (or finds) the node of `kind` over `inputs` with `params`. The only way nodes are made. */
export function make<K extends Kind>(kind: K, inputs: readonly Node[], params: Params[K]): NodeOf<K> {
  const key = `${kind}(${inputs.map((x) => x.id).join(',')}){${paramKeys[kind](params)}}`;
  const scope = scopeFor(inputs, paramAnchors(kind, params));
  const found = scope ? scope.nodes.get(key) : unanchored.get(key)?.deref();
  if (found) return found as NodeOf<K>;
  const inferred = shapeRules[kind](inputs, params);
  const node = {
    kind,
    id: nextNodeId++,
    inputs: Object.freeze([...inputs]),
    params: Object.freeze({ ...params }),
    shape: Object.freeze([...inferred.shape]),
    dtype: inferred.dtype,
    dims: Object.freeze([...inferred.dims]),
    labels: inferred.labels ? canonLabels(inferred.labels).labels : undefined,
  } as unknown as Node;
  Object.freeze(node);
  if (scope) {
    scope.nodes.set(key, node);
    scopeOf.set(node, scope);
  } else {
    unanchored.set(key, new WeakRef(node));
    unanchoredGone.register(node, key);
    scopeOf.set(node, scopeAt([node]));
  }
  return node as NodeOf<K>;
}

function dimsFor(op: string, dims: readonly string[] | undefined, rank: number): readonly string[] {
  if (!dims) return Array.from({ length: rank }, () => ANON);
  if (dims.length !== rank) {
    throw new ShapeError(`${op}: given ${dims.length} dim names [${dims.join(', ')}], expected ${rank}.`);
  }
  return dims;
}

/** Options for a {@link leaf}. */
export interface LeafOptions {
  /** Static shape of the tensor the source will hold. */
  readonly shape: readonly number[];
  /** Element type; `'float32'` by default. */
  readonly dtype?: DType;
  /** One name per dim; anonymous by default. */
  readonly dims?: readonly string[];
  /** Labels along dim 0, when dim 0 indexes named components. */
  readonly labels?: readonly string[];
}

/** A named tensor of `source`, resolved when the graph runs; its shape is declared now. */
export function leaf(name: string, source: LeafSource, opts: LeafOptions): NodeOf<'leaf'> {
  const { shape, dtype = 'float32', labels } = opts;
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      `leaf '${name}': given shape [${shape.join(', ')}], expected non-negative integers.`,
    );
  }
  return make('leaf', [], {
    name,
    source,
    shape,
    dtype,
    dims: dimsFor('leaf', opts.dims, shape.length),
    labels,
  });
}

/** A tensor the graph does not own (its owner must keep it alive), or a number. */
export function constant(value: tf.Tensor | number, dims?: readonly string[]): NodeOf<'const'> {
  const rank = typeof value === 'number' ? 0 : value.rank;
  return make('const', [], { value, dims: dimsFor('const', dims, rank) });
}

/** `x` sliced on `dim` (negative counts from the end). Slicing everything returns `x` itself. */
export function slice(x: Node, dim: number, input: SliceInput): Node {
  const s = Slice.from(input);
  const d = normAxis('slice', dim, x.shape.length, x.shape);
  if (s.isIdentity(x.shape[d])) return x;
  return make('slice', [x], { dim: d, slice: s });
}

/** Options for {@link stack}. */
export interface StackOptions {
  /** Where the new axis goes; 0 by default. */
  readonly axis?: number;
  /** Name of the new dim; `'component'` by default. */
  readonly dim?: string;
  /** One label per stacked input (a stack's component names). */
  readonly labels?: readonly string[];
  /** Shape and dims of one element: required for an empty stack, which has nothing to borrow them from. */
  readonly element?: {
    /** Shape of one stacked input. */
    readonly shape: readonly number[];
    /** Dim names of one stacked input. */
    readonly dims?: readonly string[];
  };
}

/** Stacks same-shaped nodes along a new axis. */
export function stack(xs: readonly Node[], opts: StackOptions = {}): NodeOf<'stack'> {
  const rank = (xs[0]?.shape.length ?? opts.element?.shape.length ?? 0) + 1;
  const axis = normAxis('stack', opts.axis ?? 0, rank, xs[0]?.shape ?? []);
  const element = opts.element
    ? { shape: opts.element.shape, dims: dimsFor('stack', opts.element.dims, opts.element.shape.length) }
    : undefined;
  return make('stack', xs, { axis, dim: opts.dim ?? 'component', labels: opts.labels, element });
}

/** Joins nodes along an existing axis. */
export function concat(
  xs: readonly Node[],
  opts: { readonly axis?: number; readonly labels?: readonly string[] } = {},
): Node {
  if (xs.length === 0) throw new ShapeError('concat: given no inputs, expected at least one.');
  const axis = normAxis('concat', opts.axis ?? 0, xs[0].shape.length, xs[0].shape);
  if (xs.length === 1 && !opts.labels) return xs[0];
  return make('concat', xs, { axis, labels: opts.labels });
}

/** `x - mean(x, -1)`. */
export function center(x: Node): NodeOf<'center'> {
  return make('center', [x], {});
}

/** `x / s`, `s` broadcast to `x`. */
export function scale(x: Node, s: Node): NodeOf<'scale'> {
  return make('scale', [x, s], {});
}

/** Options for {@link layerNorm}. */
export interface LayerNormOptions {
  /** `'ln'` (the default) or `'rms'`. */
  readonly variant?: NormVariant;
  /** Added to the variance before the square root; 1e-5 by default. */
  readonly eps?: number;
  /** Elementwise gain `[d]`, applied after normalizing. */
  readonly weight?: Node;
  /** Elementwise bias `[d]`, added last. */
  readonly bias?: Node;
}

/** LayerNorm (`ln`, the default) or RMSNorm (`rms`) over the last dim, statistics recomputed. */
export function layerNorm(x: Node, opts: LayerNormOptions = {}): NodeOf<'layerNorm'> {
  const inputs = [x, ...(opts.weight ? [opts.weight] : []), ...(opts.bias ? [opts.bias] : [])];
  return make('layerNorm', inputs, {
    variant: opts.variant ?? 'ln',
    eps: opts.eps ?? 1e-5,
    weight: opts.weight !== undefined,
    bias: opts.bias !== undefined,
  });
}

/** `sum(x * v, -1)`: contracts the last dim, broadcasting `v` over leading dims. */
export function dot(x: Node, v: Node): NodeOf<'dot'> {
  return make('dot', [x, v], {});
}

/** Elementwise product with broadcasting. */
export function mul(a: Node, b: Node): NodeOf<'mul'> {
  return make('mul', [a, b], {});
}

/** Elementwise sum with broadcasting. */
export function add(a: Node, b: Node): NodeOf<'add'> {
  return make('add', [a, b], {});
}

/** Elementwise difference with broadcasting. */
export function sub(a: Node, b: Node): NodeOf<'sub'> {
  return make('sub', [a, b], {});
}

/** Two-operand einsum, e.g. head results `einsum('...hd,hdm->...hm', z, W_O)`. */
export function einsum(spec: string, a: Node, b: Node): NodeOf<'einsum'> {
  return make('einsum', [a, b], { spec: spec.replace(/\s+/g, '') });
}

function reduceParams(op: string, x: Node, axes: number | readonly number[] | undefined, keepDims: boolean) {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  const norm = [...new Set(list.map((a) => normAxis(op, a, x.shape.length, x.shape)))].sort((a, b) => a - b);
  return { axes: norm, keepDims };
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Node, axes?: number | readonly number[], keepDims = false): NodeOf<'sum'> {
  return make('sum', [x], reduceParams('sum', x, axes, keepDims));
}

/** Mean over `axes` (all when omitted). */
export function mean(x: Node, axes?: number | readonly number[], keepDims = false): NodeOf<'mean'> {
  return make('mean', [x], reduceParams('mean', x, axes, keepDims));
}

/** Reshape (one `-1` allowed). Reshaping to the same shape returns `x`; reshapes of reshapes fold. */
export function reshape(x: Node, shape: readonly number[], dims?: readonly string[]): Node {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = x.shape.reduce((a, b) => a * b, 1);
  const full = shape.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (shape.filter((d) => d === -1).length > 1 || full.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(
      `reshape: given shape [${x.shape.join(', ')}] and target [${shape.join(', ')}], expected one -1 at most and a whole size.`,
    );
  }
  const d = dims ? dimsFor('reshape', dims, full.length) : undefined;
  const base = x.kind === 'reshape' ? x.inputs[0] : x;
  if (full.length === base.shape.length && full.every((v, i) => v === base.shape[i])) {
    if (!d || d.every((n, i) => n === base.dims[i])) return base;
  }
  return make('reshape', [base], { shape: full, dims: d });
}

/** Permutes dims; the identity permutation returns `x`. */
export function transpose(x: Node, perm: readonly number[]): Node {
  const rank = x.shape.length;
  const ok = perm.length === rank && [...perm].sort((a, b) => a - b).every((v, i) => v === i);
  if (!ok) {
    throw new ShapeError(
      `transpose: given perm [${perm.join(', ')}] for rank ${rank}, expected a permutation of 0..${rank - 1}.`,
    );
  }
  if (perm.every((v, i) => v === i)) return x;
  return make('transpose', [x], { perm });
}

/** Broadcasts `x` to `shape` (numpy rules); broadcasting to its own shape returns `x`. */
export function broadcast(x: Node, shape: readonly number[], dims?: readonly string[]): Node {
  const d = dims ? dimsFor('broadcast', dims, shape.length) : undefined;
  if (!d && shape.length === x.shape.length && shape.every((v, i) => v === x.shape[i])) return x;
  return make('broadcast', [x], { shape, dims: d });
}

/** `x` with other dim names and labels (same values); a no-op rename returns `x`. */
export function rename(x: Node, dims: readonly string[], labels: readonly string[] | undefined): Node {
  const same = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
    a === b || (!!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]));
  if (same(x.dims, dims) && same(x.labels, labels)) return x;
  return make('rename', [x], { dims, labels });
}

/** Marks `x` to be materialized at most once into `store` (keyed by `key`, `x` itself by default). */
export function memo(x: Node, store: MemoStore, key?: Node): NodeOf<'memo'> {
  return make('memo', [x], { store, key: key ?? x });
}
