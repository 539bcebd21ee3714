/**
 * The building blocks of the rewrite rules in `rules.ts`: how a slice or a dot moves below a stack,
 * a concat, a broadcast or an einsum. Kept apart so each table entry is a pattern and a few lines.
 */
import { einsumLetters, formatEinsum } from './einsumSpec.js';
import * as f from './factory.js';
import type { Node, NodeOf } from './node.js';
import type { Slice } from './slice.js';

/** Size of the last dim. */
export const last = (x: Node): number => x.shape[x.shape.length - 1];

/** `x` without its size-1 last dim (a scalar as it is). */
export const dropLast = (x: Node): Node => (x.shape.length === 0 ? x : f.reshape(x, x.shape.slice(0, -1)));

/**
 * Slices operand `x` of `out` the way slicing dim `d` of `out` slices it. The operand's dims align
 * right with `out`'s: all of them for an elementwise op, all but the contracted last one for a dot
 * (`contracted`). Broadcast (size-1 or missing) dims are left alone or collapsed.
 */
export function sliceOperand(x: Node, out: Node, d: number, s: Slice, contracted = false): Node {
  const j = d - (out.shape.length - (contracted ? x.shape.length - 1 : x.shape.length));
  if (j < 0) return x;
  if (x.shape[j] === 1 && out.shape[d] !== 1) return s.collapses ? f.slice(x, j, 0) : x;
  return f.slice(x, j, s);
}

/** Where each of the pieces of the given sizes starts when they are laid end to end. */
export function offsets(sizes: readonly number[]): number[] {
  const starts: number[] = [];
  sizes.reduce((off, n) => (starts.push(off), off + n), 0);
  return starts;
}

/** Which input of a stack/concat each selected index comes from, as `[input, local index]`. */
function pieces(sizes: readonly number[], idx: readonly number[]): [number, number][] {
  const starts = offsets(sizes);
  return idx.map((i) => {
    let k = sizes.length - 1;
    while (starts[k] > i) k--;
    return [k, i - starts[k]];
  });
}

// Dims are renumbered when an integer slice drops a dim before `axis`.
export const shift = (axis: number, d: number, s: Slice): number =>
  s.collapses && d < axis ? axis - 1 : axis;

/** `xs[0] + xs[1] + …` as a balanced tree: shallow, and only two partial sums alive at a time per level. */
export function addAll(xs: readonly Node[]): Node {
  let level = [...xs];
  while (level.length > 1) {
    const next: Node[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? f.add(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/** Slicing a stack along its axis picks inputs: one input for an integer, a smaller stack otherwise. */
export function pickStacked(st: NodeOf<'stack'>, s: Slice, labels: readonly string[] | undefined): Node {
  const { axis, dim } = st.params;
  const idx = s.indices(st.shape[axis]);
  if (s.collapses) return st.inputs[idx[0]];
  // The element shape is declared, so an empty selection is still a well-shaped stack.
  const element = {
    shape: st.shape.filter((_, i) => i !== axis),
    dims: st.dims.filter((_, i) => i !== axis),
  };
  const xs = idx.map((i) => st.inputs[i]);
  return f.stack(xs, { axis, dim, labels: axis === 0 ? labels : undefined, element });
}

/** Slicing a concat along its axis slices its pieces; undefined when `s` does not visit them in order. */
export function pickConcatenated(c: NodeOf<'concat'>, s: Slice, labels: readonly string[] | undefined) {
  const { axis } = c.params;
  const where = pieces(
    c.inputs.map((x) => x.shape[axis]),
    s.indices(c.shape[axis]),
  );
  if (s.collapses) return f.slice(c.inputs[where[0][0]], axis, where[0][1]);
  if (where.length === 0 || where.some(([k], i) => i > 0 && k < where[i - 1][0])) return undefined;
  const parts = [...new Set(where.map(([k]) => k))].map((k) =>
    f.slice(
      c.inputs[k],
      axis,
      where.filter(([p]) => p === k).map(([, i]) => i),
    ),
  );
  return f.concat(parts, { axis, labels: axis === 0 ? labels : undefined });
}

/**
 * Whether `dot(x, v)` (result `dt`) still runs along `axis` of `x`: the axis is not the contracted
 * one, and `v` does not broadcast a size-1 axis up (the result would not split along it).
 */
export const keepsAxis = (dt: Node, x: Node, axis: number): boolean =>
  axis !== x.shape.length - 1 && dt.shape.length === x.shape.length - 1 && dt.shape[axis] === x.shape[axis];

/** A dot direction `v` aligned with a transpose's output, padded to full rank and put in its input's order. */
export function unpermute(v: Node, perm: readonly number[]): Node {
  if (v.shape.length <= 1) return v;
  const inverse = perm.map((_, j) => perm.indexOf(j));
  const padded = f.reshape(v, [...Array<number>(perm.length - v.shape.length).fill(1), ...v.shape]);
  return f.transpose(padded, inverse);
}

/**
 * `dot(einsum(spec, a, b), v)` as an einsum with the operand holding the output's last letter `m`
 * projected on `v`; undefined when `m` is in both operands or neither, or `v` would broadcast the
 * output up. v's leading dims (per-position directions) become letters of the projected operand.
 */
export function projectEinsum(spec: string, a: Node, b: Node, v: Node): Node | undefined {
  const l = einsumLetters(spec, a.shape, b.shape);
  const lead = l.out.slice(0, -1);
  const m = l.out[l.out.length - 1];
  const inA = l.a.includes(m);
  const vRank = v.shape.length - 1;
  if (inA === l.b.includes(m) || vRank > lead.length) return undefined;
  const size = (c: string): number => l.sizes.get(c) ?? 1;
  // v's leading dims align right with the output's; a size-1 dim of v broadcasts (v lacks that
  // letter). Decline when v would broadcast the output up instead.
  const vLetters = lead.slice(lead.length - vRank);
  const vSize = (c: string): number => v.shape[vLetters.indexOf(c)];
  if (vLetters.some((c) => vSize(c) !== size(c) && vSize(c) !== 1)) return undefined;
  const vHas = (c: string): boolean => vLetters.includes(c) && vSize(c) === size(c);
  const ls = inA ? l.a : l.b;
  const rest = ls.filter((c) => c !== m);
  const extra = vLetters.filter((c) => vHas(c) && !rest.includes(c));
  const dropped = vLetters.filter((c) => !extra.includes(c) && !rest.includes(c));
  // The operand as [...rest, m]; v as [...extra, rest (or 1), m]; their dot has
  // the letters [...extra, ...rest]. v's broadcast-only dims (all size 1) are reshaped away.
  // (dot broadcasts right-aligned, so the operand needs no explicit leading 1s.)
  const xr = f.transpose(
    inA ? a : b,
    [...rest, m].map((c) => ls.indexOf(c)),
  );
  let vr = v;
  if (vRank > 0) {
    const order = [...dropped, ...extra, ...rest.filter((c) => vLetters.includes(c))];
    const vt = f.transpose(v, [...order.map((c) => vLetters.indexOf(c)), vRank]);
    vr = f.reshape(vt, [
      ...extra.map(size),
      ...rest.map((c) => (vLetters.includes(c) ? vSize(c) : 1)),
      size(m),
    ]);
  }
  const proj = f.dot(xr, vr);
  const letters = [...extra, ...rest];
  return inA
    ? f.einsum(formatEinsum(letters, l.b, lead), proj, b)
    : f.einsum(formatEinsum(l.a, letters, lead), a, proj);
}
