/**
 * Execution rules: one tfjs implementation per kind (the compiler rejects a missing one). Only kernels every backend has are
 * used — wasm has no `Einsum` (nor UnsortedSegmentSum), so contractions are transpose/reshape/matMul,
 * each matMul split to fit the backend's per-binding limit (chunkedMatMul).
 * Each rule runs inside the executor's `tf.tidy`, so temporaries vanish; sources (leaf, const, a memo
 * hit) run outside it and report the tensor as borrowed.
 */
import * as tf from '@tensorflow/tfjs';
import { chunkedMatMul } from './chunkedMatMul.js';
import { einsumGroups, einsumLetters, type EinsumLetters } from './einsumSpec.js';
import { sizeOf, type Kind, type NodeOf } from './node.js';
import { takeIndices } from './takeRun.js';

/** What an execution rule may ask of the executor. */
export interface ExecContext {
  /** The checked, borrowed tensor of a leaf. */
  resolveLeaf(node: NodeOf<'leaf'>): tf.Tensor;
  /** The checked, borrowed tensor of a const node. */
  resolveConst(node: NodeOf<'const'>): tf.Tensor;
  /** The memo's tensor for a memo node when it is already stored (borrowed). */
  memoHit(node: NodeOf<'memo'>): tf.Tensor | undefined;
  /** Stores a copy of a freshly computed memo value in the node's memo. */
  remember(node: NodeOf<'memo'>, value: tf.Tensor): void;
}

type ExecRule<K extends Kind> = (node: NodeOf<K>, inputs: tf.Tensor[], ctx: ExecContext) => tf.Tensor;

const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

/** `t` reshaped to `shape`, or `t` itself when it already has that shape. */
function reshapeTo(t: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const same = t.rank === shape.length && t.shape.every((d, i) => d === shape[i]);
  return same ? t : tf.reshape(t, [...shape]);
}

/**
 * `t` as an operand of a broadcasting binary op whose result has rank `rank`. tfjs-backend-webgpu
 * 4.22 stages a 1-D operand shorter than 128 in workgroup memory and indexes the output coordinate
 * as a vector, which its WGSL cannot do at rank 5 and 6: the shader does not compile and the result
 * is silently wrong. The same values as a [1, n] view take the ordinary path on every backend.
 */
function operand(t: tf.Tensor, rank: number): tf.Tensor {
  return t.rank === 1 && rank >= 5 && t.shape[0] > 1 ? tf.reshape(t, [1, t.shape[0]]) : t;
}

/** `op(a, b)` with each operand made safe for the result's rank (see {@link operand}). */
function binary(op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const rank = Math.max(a.rank, b.rank);
  return op(operand(a, rank), operand(b, rank));
}

function reduceRule<K extends 'sum' | 'mean'>(op: K): ExecRule<K> {
  return (n, [x]) => {
    const axes = [...n.params.axes];
    if (op === 'mean') return tf.mean(asFloat(x), axes, n.params.keepDims);
    return tf.sum(x, axes, n.params.keepDims);
  };
}

// A contraction lowered to one batched matMul: sum away letters private to one operand and absent
// from the output, transpose each operand to [batch, free, contracted] order, reshape to 3-D, matMul,
// then reshape and transpose into the output's letter order.
function contract(a0: tf.Tensor, b0: tf.Tensor, l: EinsumLetters): tf.Tensor {
  const g = einsumGroups(l);
  const size = (ls: readonly string[]): number => ls.reduce((p, x) => p * (l.sizes.get(x) ?? 1), 1);
  const reduceAway = (t: tf.Tensor, letters: readonly string[], drop: readonly string[]) => {
    if (drop.length === 0) return { t, letters };
    const axes = drop.map((x) => letters.indexOf(x));
    return { t: tf.sum(t, axes), letters: letters.filter((x) => !drop.includes(x)) };
  };
  const A = reduceAway(a0, l.a, g.sumA);
  const B = reduceAway(b0, l.b, g.sumB);
  const permute = (t: tf.Tensor, have: readonly string[], want: readonly string[]): tf.Tensor => {
    const perm = want.map((x) => have.indexOf(x));
    return perm.every((p, i) => p === i) ? t : tf.transpose(t, perm);
  };
  // Without batch letters a 2-D matMul suffices, and a reshape to an operand's own shape is skipped:
  // tf.memory() counts every reshaped view as new bytes, which would inflate measured peaks.
  const batch = g.batch.length > 0 ? [size(g.batch)] : [];
  const a = reshapeTo(permute(A.t, A.letters, [...g.batch, ...g.left, ...g.contract]), [
    ...batch,
    size(g.left),
    size(g.contract),
  ]);
  const b = reshapeTo(permute(B.t, B.letters, [...g.batch, ...g.contract, ...g.right]), [
    ...batch,
    size(g.contract),
    size(g.right),
  ]);
  const order = [...g.batch, ...g.left, ...g.right];
  const prod = reshapeTo(
    chunkedMatMul(a, b),
    order.map((x) => l.sizes.get(x) ?? 1),
  );
  return permute(prod, order, l.out);
}

// A broadcasting dot as a contraction: each output dim gets a letter, the contracted dim another;
// an operand's size-1 dims that the other operand broadcasts up are squeezed away first, so
// dot(W_out [n, d], v [b, p, 1, d]) is one matMul, never a [b, p, n, d] product.
function dotAsContraction(n: NodeOf<'dot'>, x: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const R = n.shape.length;
  const out = n.shape.map((_, i) => `o${i}`);
  const sizes = new Map<string, number>(out.map((c, i) => [c, n.shape[i]]));
  sizes.set('k', x.shape[x.rank - 1]);
  const operand = (t: tf.Tensor): { t: tf.Tensor; letters: string[] } => {
    const lead = t.rank - 1;
    const keep = t.shape.map((d, i) => i === lead || d === n.shape[R - lead + i]);
    const letters = [...out.slice(R - lead), 'k'].filter((_, i) => keep[i]);
    const shape = t.shape.filter((_, i) => keep[i]);
    return { t: shape.length === t.rank ? t : tf.reshape(t, shape), letters };
  };
  const A = operand(x);
  const B = operand(v);
  return contract(A.t, B.t, { a: A.letters, b: B.letters, out, sizes });
}

/** One tfjs implementation per kind. */
export const execRules: { readonly [K in Kind]: ExecRule<K> } = {
  leaf: (n, _, ctx) => ctx.resolveLeaf(n),
  const: (n, _, ctx) => ctx.resolveConst(n),
  slice: (n, [x]) => {
    const { dim, slice: s } = n.params;
    const len = x.shape[dim];
    const idx = s.indices(len);
    if (idx.length === 0) return tf.zeros([...n.shape], x.dtype);
    // A run is taken without copying the rest of a large input (takeRun), a list by gather; an
    // integer index then drops the dim by reshape.
    return tf.reshape(takeIndices(x, dim, idx), [...n.shape]);
  },
  stack: (n, xs) => {
    if (xs.length === 0) return tf.zeros([...n.shape], n.dtype);
    if (xs.length === 1) return tf.expandDims(xs[0], n.params.axis);
    return tf.stack(xs, n.params.axis);
  },
  concat: (n, xs) => (xs.length === 1 ? tf.clone(xs[0]) : tf.concat(xs, n.params.axis)),
  center: (_, [x]) => {
    const f = asFloat(x);
    return tf.sub(f, tf.mean(f, -1, true));
  },
  scale: (_, [x, s]) => binary(tf.div, asFloat(x), asFloat(s)),
  layerNorm: (n, [x0, ...affine]) => {
    const { variant, eps, weight, bias } = n.params;
    let x = asFloat(x0);
    if (variant === 'ln') x = tf.sub(x, tf.mean(x, -1, true));
    let y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
    if (weight) y = binary(tf.mul, y, affine[0]);
    if (bias) y = binary(tf.add, y, affine[weight ? 1 : 0]);
    return y;
  },
  dot: (n, [x, v]) => {
    const d = x.shape[x.rank - 1];
    // A single direction is a matMul over the flattened leading dims: no broadcast temporary.
    // (A rank-2 operand is not reshaped: tf.memory() counts a reshaped view as new bytes.)
    const rows = (t: tf.Tensor): tf.Tensor => (t.rank === 2 ? t : tf.reshape(t, [-1, d]));
    if (v.rank === 1 && sizeOf(x.shape) > 0) {
      return tf.reshape(chunkedMatMul(rows(x), tf.reshape(v, [d, 1])), [...n.shape]);
    }
    if (x.rank === 1 && sizeOf(v.shape) > 0) {
      return tf.reshape(chunkedMatMul(rows(v), tf.reshape(x, [d, 1])), [...n.shape]);
    }
    return dotAsContraction(n, x, v);
  },
  mul: (_, [a, b]) => binary(tf.mul, a, b),
  add: (_, [a, b]) => binary(tf.add, a, b),
  sub: (_, [a, b]) => binary(tf.sub, a, b),
  einsum: (n, [a, b]) => contract(a, b, einsumLetters(n.params.spec, a.shape, b.shape)),
  sum: reduceRule('sum'),
  mean: reduceRule('mean'),
  reshape: (n, [x]) => tf.reshape(x, [...n.params.shape]),
  transpose: (n, [x]) => tf.transpose(x, [...n.params.perm]),
  broadcast: (n, [x]) => tf.broadcastTo(x, [...n.params.shape]),
  // Names are static data: at run time a rename is a free view of its input.
  rename: (_, [x]) => tf.clone(x),
  memo: (n, [x], ctx) => {
    ctx.remember(n, x);
    return tf.clone(x);
  },
};
