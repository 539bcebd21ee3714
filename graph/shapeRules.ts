/**
 * Shape rules: one entry per kind (the compiler rejects a missing one) inferring shape, dtype, named
 * dims and labels when a node is built. A mismatch throws {@link ShapeError} naming the op, both
 * shapes and the dim at fault, so bad analyses fail where they are written, not when they run.
 */
import { ShapeError } from './errors.js';
import { einsumLetters } from './einsumSpec.js';
import { ANON, sizeOf, type DType, type Kind, type Node, type Params } from './node.js';

/** What a shape rule infers. */
export interface Inferred {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly dims: readonly string[];
  readonly labels: readonly string[] | undefined;
}

type ShapeRule<K extends Kind> = (inputs: readonly Node[], p: Params[K]) => Inferred;

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Normalizes a possibly negative axis of a rank-`rank` tensor, or throws naming `op`. */
export function normAxis(op: string, axis: number, rank: number, shape: readonly number[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= rank) {
    throw new ShapeError(
      `${op}: given axis ${axis} for shape ${fmt(shape)}, expected -${rank} <= axis < ${rank}.`,
    );
  }
  return a;
}

/** Numpy broadcasting of two shapes; throws naming `op`, both shapes and the (output) dim at fault. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new ShapeError(
        `${op}: given shapes ${fmt(a)} and ${fmt(b)}, expected equal or broadcastable sizes at dim ${i - rank} (${x} vs ${y}).`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * Names the dims of a broadcast result: for each output dim, the first input (left to right) that
 * covers it with a non-anonymous name, preferring inputs not broadcast there (size equal to the output).
 */
export function mergeDims(
  shape: readonly number[],
  inputs: readonly Pick<Node, 'shape' | 'dims'>[],
): string[] {
  return shape.map((size, i) => {
    const names = (full: boolean): string | undefined => {
      for (const x of inputs) {
        const j = x.shape.length - shape.length + i;
        if (j < 0) continue;
        if (full && x.shape[j] !== size) continue;
        if (x.dims[j] !== ANON) return x.dims[j];
      }
      return undefined;
    };
    return names(true) ?? names(false) ?? ANON;
  });
}

/** Labels of dim 0 carried over from the first input whose dim 0 is the output's dim 0. */
function carryLabels(shape: readonly number[], inputs: readonly Node[]): readonly string[] | undefined {
  for (const x of inputs) {
    if (x.labels && x.shape.length === shape.length && x.shape[0] === shape[0]) return x.labels;
  }
  return undefined;
}

function sameDtype(op: string, inputs: readonly Node[]): DType {
  const d = inputs[0].dtype;
  for (const x of inputs) {
    if (x.dtype !== d) throw new ShapeError(`${op}: given dtypes ${d} and ${x.dtype}, expected one dtype.`);
  }
  return d;
}

function checkLabels(op: string, labels: readonly string[] | undefined, n: number): void {
  if (labels && labels.length !== n) {
    throw new ShapeError(`${op}: given ${labels.length} labels, expected ${n} (one per entry of dim 0).`);
  }
}

function binary<K extends 'mul' | 'add' | 'sub'>(op: K): ShapeRule<K> {
  return ([a, b]) => {
    const shape = broadcastShapes(op, a.shape, b.shape);
    return {
      shape,
      dtype: sameDtype(op, [a, b]),
      dims: mergeDims(shape, [a, b]),
      labels: carryLabels(shape, [a, b]),
    };
  };
}

function reduce<K extends 'sum' | 'mean'>(op: K): ShapeRule<K> {
  return ([x], p) => {
    const drop = new Set(p.axes);
    const keep = (_: unknown, i: number): boolean => p.keepDims || !drop.has(i);
    const shape = x.shape.map((d, i) => (drop.has(i) ? 1 : d)).filter(keep);
    const dims = x.dims.map((d, i) => (drop.has(i) ? ANON : d)).filter(keep);
    const labels = drop.has(0) ? undefined : x.labels;
    return { shape, dtype: op === 'mean' ? 'float32' : x.dtype, dims, labels };
  };
}

/** One shape rule per kind. */
export const shapeRules: { readonly [K in Kind]: ShapeRule<K> } = {
  // A leaf's signature is declared when it is built: the graph is checked before any tensor exists.
  leaf: (_, p) => ({ shape: p.shape, dtype: p.dtype, dims: p.dims, labels: p.labels }),
  // Numbers are float32 scalars, so `x.mul(2)` broadcasts like numpy.
  const: (_, p) => {
    const shape = typeof p.value === 'number' ? [] : p.value.shape;
    const dtype: DType = typeof p.value === 'number' || p.value.dtype !== 'int32' ? 'float32' : 'int32';
    return { shape, dtype, dims: p.dims, labels: undefined };
  },
  // An integer drops the dim (Python); labels follow dim 0 when it is the one sliced.
  slice: ([x], p) => {
    const dim = p.dim;
    const n = x.shape[dim];
    const len = p.slice.indices(n).length; // validates indices against the dim
    const shape = [...x.shape];
    const dims = [...x.dims];
    if (p.slice.collapses) {
      shape.splice(dim, 1);
      dims.splice(dim, 1);
    } else {
      shape[dim] = len;
    }
    let labels = x.labels;
    if (dim === 0 && labels) {
      const lab = labels;
      labels = p.slice.collapses ? undefined : p.slice.indices(n).map((i) => lab[i]);
    }
    return { shape, dtype: x.dtype, dims, labels };
  },
  // All inputs share one shape (the seed's torch.stack rule); an empty stack takes `element`'s.
  stack: (inputs, p) => {
    const el = inputs[0] ?? p.element;
    if (!el)
      throw new ShapeError('stack: given no inputs and no element shape, expected at least one of them.');
    inputs.forEach((x, i) => {
      if (x.shape.length !== el.shape.length || x.shape.some((d, j) => d !== el.shape[j])) {
        const at = x.shape.findIndex((d, j) => d !== el.shape[j]);
        throw new ShapeError(
          `stack: given input ${i} of shape ${fmt(x.shape)} and input 0 of shape ${fmt(el.shape)}, expected equal shapes (dim ${at < 0 ? x.shape.length : at} differs).`,
        );
      }
    });
    const shape = [...el.shape];
    const dims = inputs.length > 0 ? mergeDims(el.shape, inputs) : [...el.dims];
    shape.splice(p.axis, 0, inputs.length);
    dims.splice(p.axis, 0, p.dim);
    checkLabels('stack', p.labels, inputs.length);
    const dtype = inputs.length > 0 ? sameDtype('stack', inputs) : 'float32';
    return { shape, dtype, dims, labels: p.axis === 0 ? p.labels : carryLabels(shape, inputs) };
  },
  // Sizes agree off the axis; labels concatenate when every input has them.
  concat: (inputs, p) => {
    if (inputs.length === 0) throw new ShapeError('concat: given no inputs, expected at least one.');
    const first = inputs[0];
    const rank = first.shape.length;
    inputs.forEach((x, i) => {
      const at = x.shape.findIndex((d, j) => j !== p.axis && d !== first.shape[j]);
      if (x.shape.length !== rank || at >= 0) {
        throw new ShapeError(
          `concat: given input ${i} of shape ${fmt(x.shape)} and input 0 of shape ${fmt(first.shape)}, expected equal sizes except on axis ${p.axis} (dim ${at < 0 ? rank : at} differs).`,
        );
      }
    });
    const shape = [...first.shape];
    shape[p.axis] = inputs.reduce((s, x) => s + x.shape[p.axis], 0);
    checkLabels('concat', p.labels, shape[0]);
    let labels = p.labels;
    if (!labels && p.axis === 0 && inputs.every((x) => x.labels))
      labels = inputs.flatMap((x) => x.labels ?? []);
    if (!labels && p.axis !== 0) labels = carryLabels(shape, inputs);
    return { shape, dtype: sameDtype('concat', inputs), dims: mergeDims(shape, inputs), labels };
  },
  center: ([x]) => {
    if (x.shape.length === 0) throw new ShapeError('center: given a scalar, expected at least one dim.');
    return { shape: x.shape, dtype: 'float32', dims: x.dims, labels: x.labels };
  },
  // The scale must not grow x: an LN scale [..., 1] divides each row, never adds rows.
  scale: ([x, s]) => {
    const shape = broadcastShapes('scale', x.shape, s.shape);
    if (shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(
        `scale: given x of shape ${fmt(x.shape)} and scale of shape ${fmt(s.shape)}, expected the scale to broadcast to x without growing it.`,
      );
    }
    return { shape: x.shape, dtype: 'float32', dims: mergeDims(x.shape, [x, s]), labels: x.labels };
  },
  layerNorm: (inputs, p) => {
    const [x, ...affine] = inputs;
    if (x.shape.length === 0) throw new ShapeError('layerNorm: given a scalar, expected at least one dim.');
    if (affine.length !== Number(p.weight) + Number(p.bias)) {
      throw new ShapeError(
        `layerNorm: given ${affine.length} affine inputs, expected weight/bias as declared.`,
      );
    }
    for (const w of affine) broadcastShapes('layerNorm weight/bias', x.shape, w.shape);
    return { shape: x.shape, dtype: 'float32', dims: x.dims, labels: x.labels };
  },
  // v broadcasts against x's leading dims, so a per-position direction [b, p, d] works too.
  dot: ([x, v]) => {
    const d = x.shape[x.shape.length - 1];
    const e = v.shape[v.shape.length - 1];
    if (x.shape.length === 0 || v.shape.length === 0 || d !== e) {
      throw new ShapeError(
        `dot: given shapes ${fmt(x.shape)} and ${fmt(v.shape)}, expected equal sizes at dim -1 (${d} vs ${e}).`,
      );
    }
    const shape = broadcastShapes('dot', x.shape.slice(0, -1), v.shape.slice(0, -1));
    const lead = [x, v].map((n) => ({ shape: n.shape.slice(0, -1), dims: n.dims.slice(0, -1) }));
    const labels =
      x.labels && x.shape.length - 1 === shape.length && x.shape[0] === shape[0] ? x.labels : undefined;
    return { shape, dtype: sameDtype('dot', [x, v]), dims: mergeDims(shape, lead), labels };
  },
  mul: binary('mul'),
  add: binary('add'),
  sub: binary('sub'),
  // Each letter takes its dim name from the first operand naming it.
  einsum: ([a, b], p) => {
    const l = einsumLetters(p.spec, a.shape, b.shape);
    const name = (letter: string): string => {
      const i = l.a.indexOf(letter);
      if (i >= 0 && a.dims[i] !== ANON) return a.dims[i];
      const j = l.b.indexOf(letter);
      return j >= 0 ? b.dims[j] : ANON;
    };
    const shape = l.out.map((x) => l.sizes.get(x) ?? 0);
    let labels: readonly string[] | undefined;
    if (l.out.length > 0 && l.a[0] === l.out[0] && a.labels) labels = a.labels;
    else if (l.out.length > 0 && l.b[0] === l.out[0] && b.labels) labels = b.labels;
    return { shape, dtype: sameDtype('einsum', [a, b]), dims: l.out.map(name), labels };
  },
  sum: reduce('sum'),
  mean: reduce('mean'),
  // Dim 0 (and its labels) survive when its size does: row-major order keeps its index.
  reshape: ([x], p) => {
    if (sizeOf(p.shape) !== sizeOf(x.shape)) {
      throw new ShapeError(
        `reshape: given shape ${fmt(x.shape)} and target ${fmt(p.shape)}, expected the same number of elements (${sizeOf(x.shape)} vs ${sizeOf(p.shape)}).`,
      );
    }
    const labels = x.labels && p.shape.length > 0 && p.shape[0] === x.shape[0] ? x.labels : undefined;
    return { shape: p.shape, dtype: x.dtype, dims: p.dims ?? reshapeDims(x, p.shape), labels };
  },
  // Labels describe dim 0, so they survive only when dim 0 stays first.
  transpose: ([x], p) => ({
    shape: p.perm.map((i) => x.shape[i]),
    dtype: x.dtype,
    dims: p.perm.map((i) => x.dims[i]),
    labels: p.perm[0] === 0 ? x.labels : undefined,
  }),
  broadcast: ([x], p) => {
    const shape = broadcastShapes('broadcast', x.shape, p.shape);
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError(
        `broadcast: given shape ${fmt(x.shape)} and target ${fmt(p.shape)}, expected the target to contain the shape.`,
      );
    }
    const labels =
      x.labels && x.shape.length === shape.length && x.shape[0] === shape[0] ? x.labels : undefined;
    return { shape, dtype: x.dtype, dims: p.dims ?? mergeDims(shape, [x]), labels };
  },
  rename: ([x], p) => {
    if (p.dims.length !== x.shape.length) {
      throw new ShapeError(
        `rename: given ${p.dims.length} dim names for shape ${fmt(x.shape)}, expected ${x.shape.length}.`,
      );
    }
    checkLabels('rename', p.labels, x.shape[0] ?? 0);
    return { shape: x.shape, dtype: x.dtype, dims: p.dims, labels: p.labels };
  },
  // A memo is the identity on values: same signature as its input.
  memo: ([x]) => ({ shape: x.shape, dtype: x.dtype, dims: x.dims, labels: x.labels }),
};

/** Dim names survive a reshape that only inserts or removes size-1 dims; otherwise they are anonymous. */
export function reshapeDims(x: Pick<Node, 'shape' | 'dims'>, shape: readonly number[]): string[] {
  // A common suffix and prefix of equal sizes keep their names; the middle keeps names when it only
  // gains or loses size-1 dims.
  const old = x.shape;
  // The suffix is matched first: leading dims are the ones analyses add (component, layer).
  let q = 0;
  while (q < old.length && q < shape.length && old[old.length - 1 - q] === shape[shape.length - 1 - q]) q++;
  let p = 0;
  while (p < old.length - q && p < shape.length - q && old[p] === shape[p]) p++;
  const from = old
    .slice(p, old.length - q)
    .map((d, i) => [d, x.dims[p + i]] as const)
    .filter(([d]) => d !== 1);
  const mid = shape.slice(p, shape.length - q);
  const big = mid.filter((d) => d !== 1);
  let k = 0;
  const middle =
    from.length !== big.length || from.some(([d], i) => d !== big[i])
      ? mid.map(() => ANON)
      : mid.map((d) => (d === 1 ? ANON : from[k++][1]));
  return [...x.dims.slice(0, p), ...middle, ...x.dims.slice(old.length - q)];
}
