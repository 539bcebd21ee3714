/**
 * The planner's rewrite rules: ONE flat table (STYLE 4). Each entry names the kind it matches at the
 * root, the option that switches it, and a rewrite returning the equivalent node or `undefined` to
 * decline. Every entry's comment states the identity it applies; each has a property test. The
 * driver in `planner.ts` applies them to a fixed point.
 */
import { einsumLetters, formatEinsum } from './einsumSpec.js';
import * as f from './factory.js';
import type { Kind, Node, NodeOf } from './node.js';
import { Slice } from './slice.js';

/** Switches for rule families; see `PlanOptions`. */
export type RuleFlag =
  | 'slicePushdown'
  | 'dotPushdown'
  | 'dotThroughScale'
  | 'dotThroughCenter'
  | 'neuronDot'
  | 'headDot'
  | 'sumPushdown'
  | 'simplify';

/** One rewrite rule. */
export interface Rule<K extends Kind = Kind> {
  /** Short name printed by `explain()` where the rule fired. */
  readonly name: string;
  /** The {@link PlanOptions} switch that enables the rule. */
  readonly flag: RuleFlag;
  /** The node kind the rule matches at its root. */
  readonly root: K;
  /** The replacement for `node`, or `undefined` to decline. */
  readonly rewrite: (node: NodeOf<K>) => Node | undefined;
}

function rule<K extends Kind>(
  name: string,
  flag: RuleFlag,
  root: K,
  rewrite: (node: NodeOf<K>) => Node | undefined,
) {
  return { name, flag, root, rewrite } as unknown as Rule;
}

/**
 * Sees through a memo node that holds nothing yet: pushing work into it is cheaper than filling it.
 * A memo that already holds its value stays opaque, so the stored tensor is reused.
 */
export function peel(x: Node): Node {
  if (x.kind !== 'memo' || x.params.store.disposed) return x;
  return x.params.store.get(x.params.key ?? x.inputs[0]) ? x : x.inputs[0];
}

/**
 * Slices operand `x` the way slicing dim `d` of a broadcast result of rank `outRank` slices it.
 * `lead` is how many of x's dims align with the result (all for elementwise ops, all but the
 * contracted last one for dot). Broadcast (size-1 or missing) dims are left alone or collapsed.
 */
function sliceOperand(x: Node, lead: number, outRank: number, outSize: number, d: number, s: Slice): Node {
  const j = d - (outRank - lead);
  if (j < 0) return x;
  if (x.shape[j] === 1 && outSize !== 1) return s.collapses ? f.slice(x, j, 0) : x;
  return f.slice(x, j, s);
}

/** Which input of a stack/concat each selected index comes from, as `[input, local index]`. */
function pieces(sizes: readonly number[], idx: readonly number[]): [number, number][] {
  const starts: number[] = [];
  sizes.reduce((off, n) => (starts.push(off), off + n), 0);
  return idx.map((i) => {
    let k = sizes.length - 1;
    while (starts[k] > i) k--;
    return [k, i - starts[k]];
  });
}

// Dims are renumbered when an integer slice drops a dim before `axis`.
const shift = (axis: number, d: number, s: Slice): number => (s.collapses && d < axis ? axis - 1 : axis);

/** `xs[0] + xs[1] + …` as a balanced tree: shallow, and only two partial sums alive at a time per level. */
function addAll(xs: readonly Node[]): Node {
  let level = [...xs];
  while (level.length > 1) {
    const next: Node[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? f.add(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/** The rewrite table. */
export const rules: readonly Rule[] = [
  // slice(stack(xs), axis, i) -> xs[i];  slice(stack(xs), axis, S) -> stack(xs[S]);  off-axis: stack(slice(x))
  rule('slice-stack', 'slicePushdown', 'slice', (n) => {
    const st = peel(n.inputs[0]);
    if (st.kind !== 'stack') return undefined;
    const { dim: d, slice: s } = n.params;
    const { axis } = st.params;
    if (d === axis) {
      const idx = s.indices(st.shape[axis]);
      if (s.collapses) return st.inputs[idx[0]];
      const element = {
        shape: st.shape.filter((_, i) => i !== axis),
        dims: st.dims.filter((_, i) => i !== axis),
      };
      return f.stack(
        idx.map((i) => st.inputs[i]),
        { axis, dim: st.params.dim, labels: axis === 0 ? n.labels : undefined, element },
      );
    }
    const inner = d < axis ? d : d - 1;
    if (st.inputs.length === 0) return undefined;
    const xs = st.inputs.map((x) => f.slice(x, inner, s));
    return f.stack(xs, { axis: shift(axis, d, s), dim: st.params.dim, labels: st.params.labels });
  }),
  // slice(concat(xs), axis, S) -> concat(slice(x_k, axis, S_k)) when S visits pieces in order; off-axis: concat(slice(x))
  rule('slice-concat', 'slicePushdown', 'slice', (n) => {
    const c = peel(n.inputs[0]);
    if (c.kind !== 'concat') return undefined;
    const { dim: d, slice: s } = n.params;
    const { axis } = c.params;
    if (d !== axis) {
      return f.concat(
        c.inputs.map((x) => f.slice(x, d, s)),
        // Explicit labels name dim 0: they survive only when dim 0 is not the one sliced.
        { axis: shift(axis, d, s), labels: d === 0 ? undefined : c.params.labels },
      );
    }
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
    return f.concat(parts, { axis, labels: axis === 0 ? n.labels : undefined });
  }),
  // slice(a ∘ b, d, S) -> slice(a, d, S) ∘ slice(b, d, S) for ∘ in mul/add/sub/scale, broadcast dims kept
  rule('slice-elementwise', 'slicePushdown', 'slice', (n) => {
    const e = peel(n.inputs[0]);
    if (e.kind !== 'mul' && e.kind !== 'add' && e.kind !== 'sub' && e.kind !== 'scale') return undefined;
    const { dim: d, slice: s } = n.params;
    const r = e.shape.length;
    const [a, b] = e.inputs.map((x) => sliceOperand(x, x.shape.length, r, e.shape[d], d, s));
    return e.kind === 'scale' ? f.scale(a, b) : f[e.kind](a, b);
  }),
  // slice(center(x), d, S) -> center(slice(x, d, S)) for d not the last dim (rows are independent)
  rule('slice-center', 'slicePushdown', 'slice', (n) => {
    const c = peel(n.inputs[0]);
    if (c.kind !== 'center' || n.params.dim === c.shape.length - 1) return undefined;
    return f.center(f.slice(c.inputs[0], n.params.dim, n.params.slice));
  }),
  // slice(layerNorm(x, w, b), d, S) -> layerNorm(slice(x), slice(w), slice(b)) for d not the last dim
  rule('slice-layerNorm', 'slicePushdown', 'slice', (n) => {
    const ln = peel(n.inputs[0]);
    if (ln.kind !== 'layerNorm' || n.params.dim === ln.shape.length - 1) return undefined;
    const { dim: d, slice: s } = n.params;
    const [x, ...affine] = ln.inputs.map((y) =>
      sliceOperand(y, y.shape.length, ln.shape.length, ln.shape[d], d, s),
    );
    const { variant, eps, weight, bias } = ln.params;
    return f.layerNorm(x, {
      variant,
      eps,
      weight: weight ? affine[0] : undefined,
      bias: bias ? affine.at(-1) : undefined,
    });
  }),
  // slice(dot(x, v), d, S) -> dot(slice(x, d, S), slice(v, d, S)) on the broadcast leading dims
  rule('slice-dot', 'slicePushdown', 'slice', (n) => {
    const dt = peel(n.inputs[0]);
    if (dt.kind !== 'dot') return undefined;
    const { dim: d, slice: s } = n.params;
    const r = dt.shape.length;
    const [x, v] = dt.inputs.map((y) => sliceOperand(y, y.shape.length - 1, r, dt.shape[d], d, s));
    return f.dot(x, v);
  }),
  // slice(transpose(x, p), d, S) -> transpose(slice(x, p[d], S), p') with p' renumbered if the dim drops
  rule('slice-transpose', 'slicePushdown', 'slice', (n) => {
    const t = peel(n.inputs[0]);
    if (t.kind !== 'transpose') return undefined;
    const { dim: d, slice: s } = n.params;
    const src = t.params.perm[d];
    const perm = s.collapses
      ? t.params.perm.filter((_, i) => i !== d).map((p) => (p > src ? p - 1 : p))
      : t.params.perm;
    return f.transpose(f.slice(t.inputs[0], src, s), perm);
  }),
  // slice(einsum(a, b), d, S) -> einsum(slice(a), slice(b)) on the operands holding out[d]'s letter
  rule('slice-einsum', 'slicePushdown', 'slice', (n) => {
    const e = peel(n.inputs[0]);
    if (e.kind !== 'einsum') return undefined;
    const [a, b] = e.inputs;
    const l = einsumLetters(e.params.spec, a.shape, b.shape);
    const { dim: d, slice: s } = n.params;
    const letter = l.out[d];
    const cut = (x: Node, ls: readonly string[]): Node =>
      ls.includes(letter) ? f.slice(x, ls.indexOf(letter), s) : x;
    const drop = (ls: readonly string[]): readonly string[] =>
      s.collapses ? ls.filter((c) => c !== letter) : ls;
    return f.einsum(formatEinsum(drop(l.a), drop(l.b), drop(l.out)), cut(a, l.a), cut(b, l.b));
  }),
  // dot(stack(xs), v) -> stack(dot(x_i, v_i)), v_i = v's slice i when v spans the stack axis
  rule('dot-stack', 'dotPushdown', 'dot', (n) => {
    const st = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (st.kind !== 'stack' || st.params.axis === st.shape.length - 1 || st.inputs.length === 0)
      return undefined;
    const { axis } = st.params;
    // When v broadcasts a size-1 stack axis up, the result is not a stack along that axis.
    if (n.shape.length !== st.shape.length - 1 || n.shape[axis] !== st.shape[axis]) return undefined;
    const r = n.shape.length;
    const parts = st.inputs.map((x, i) =>
      f.dot(x, sliceOperand(v, v.shape.length - 1, r, n.shape[axis], axis, Slice.from(i))),
    );
    return f.stack(parts, { axis, dim: st.params.dim, labels: st.params.labels });
  }),
  // dot(concat(xs), v) -> concat(dot(x_k, v[off_k : off_k + n_k])) along the concat axis
  rule('dot-concat', 'dotPushdown', 'dot', (n) => {
    const c = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (c.kind !== 'concat' || c.params.axis === c.shape.length - 1) return undefined;
    const { axis } = c.params;
    if (n.shape.length !== c.shape.length - 1 || n.shape[axis] !== c.shape[axis]) return undefined;
    const r = n.shape.length;
    let off = 0;
    const parts = c.inputs.map((x) => {
      const range = Slice.from({ start: off, stop: off + x.shape[axis] });
      off += x.shape[axis];
      return f.dot(x, sliceOperand(v, v.shape.length - 1, r, n.shape[axis], axis, range));
    });
    return f.concat(parts, { axis, labels: c.params.labels });
  }),
  // dot(a ± b, v) -> dot(a, v) ± dot(b, v) when neither a nor b broadcasts along the contracted dim
  rule('dot-add', 'dotPushdown', 'dot', (n) => {
    const e = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (e.kind !== 'add' && e.kind !== 'sub') return undefined;
    const d = e.shape[e.shape.length - 1];
    if (e.inputs.some((x) => x.shape.length === 0 || x.shape[x.shape.length - 1] !== d)) return undefined;
    return f[e.kind](f.dot(e.inputs[0], v), f.dot(e.inputs[1], v));
  }),
  // dot(transpose(x, p), v) -> transpose(dot(x, p⁻¹(v)), p[:-1]) when p keeps the last dim last
  rule('dot-transpose', 'dotPushdown', 'dot', (n) => {
    const t = peel(n.inputs[0]);
    const v = n.inputs[1];
    const last = t.shape.length - 1;
    if (t.kind !== 'transpose' || v.shape.length > t.shape.length || t.params.perm[last] !== last)
      return undefined;
    const { perm } = t.params;
    // v aligns with the transposed dims: pad it to full rank, then apply the inverse permutation.
    let v2 = v;
    if (v.shape.length > 1) {
      const inverse = perm.map((_, j) => perm.indexOf(j));
      v2 = f.transpose(
        f.reshape(v, [...Array<number>(t.shape.length - v.shape.length).fill(1), ...v.shape]),
        inverse,
      );
    }
    return f.transpose(f.dot(t.inputs[0], v2), perm.slice(0, -1));
  }),
  // dot(reshape(x), v) -> reshape(dot(x, v)) when the reshape keeps the last dim and v is 1-D
  rule('dot-reshape', 'dotPushdown', 'dot', (n) => {
    const rs = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (rs.kind !== 'reshape' || v.shape.length !== 1) return undefined;
    const x = rs.inputs[0];
    if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== rs.shape[rs.shape.length - 1])
      return undefined;
    return f.reshape(f.dot(x, v), rs.shape.slice(0, -1), n.dims);
  }),
  // dot(x / s, v) -> dot(x, v) / s[..., 0] when s is constant along the contracted dim
  rule('dot-scale', 'dotThroughScale', 'dot', (n) => {
    const sc = peel(n.inputs[0]);
    if (sc.kind !== 'scale') return undefined;
    const [x, s] = sc.inputs;
    if (s.shape.length > 0 && s.shape[s.shape.length - 1] !== 1) return undefined;
    const s2 = s.shape.length === 0 ? s : f.reshape(s, s.shape.slice(0, -1));
    return f.scale(f.dot(x, n.inputs[1]), s2);
  }),
  // dot(center(x), v) -> dot(x, center(v)): Σ(x - x̄)v = Σx v - x̄Σv = Σ x (v - v̄)
  rule('dot-center', 'dotThroughCenter', 'dot', (n) => {
    const c = peel(n.inputs[0]);
    if (c.kind !== 'center') return undefined;
    return f.dot(c.inputs[0], f.center(n.inputs[1]));
  }),
  // dot(a[..., None] * W, v) -> a * dot(W, v): an operand constant along the contracted dim factors out
  rule('dot-neuron', 'neuronDot', 'dot', (n) => {
    const m = peel(n.inputs[0]);
    if (m.kind !== 'mul') return undefined;
    const v = n.inputs[1];
    const flat = (x: Node): boolean => x.shape.length === 0 || x.shape[x.shape.length - 1] === 1;
    const [a, w] = flat(m.inputs[0]) ? m.inputs : flat(m.inputs[1]) ? [m.inputs[1], m.inputs[0]] : [];
    if (!a || !w || w.shape.length === 0 || w.shape[w.shape.length - 1] !== m.shape[m.shape.length - 1]) {
      return undefined;
    }
    const a2 = a.shape.length === 0 ? a : f.reshape(a, a.shape.slice(0, -1));
    return f.mul(a2, f.dot(w, v));
  }),
  // dot(einsum(z, W_O), v) -> einsum(z, W_O·v) when out's last letter m lives in one operand; v's
  // leading dims (per-position directions) become letters of the projected operand
  rule('dot-einsum', 'headDot', 'dot', (n) => {
    const e = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (e.kind !== 'einsum') return undefined;
    const [a, b] = e.inputs;
    const l = einsumLetters(e.params.spec, a.shape, b.shape);
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
  }),
  // dot(broadcast(x, S), v) -> broadcast(dot(x, v), S[:-1]) when x keeps the last dim and v is 1-D
  rule('dot-broadcast', 'dotPushdown', 'dot', (n) => {
    const b = peel(n.inputs[0]);
    const v = n.inputs[1];
    if (b.kind !== 'broadcast' || v.shape.length !== 1) return undefined;
    const x = b.inputs[0];
    const last = b.shape[b.shape.length - 1];
    if (x.shape.length === 0 || x.shape[x.shape.length - 1] !== last) return undefined;
    return f.broadcast(f.dot(x, v), b.shape.slice(0, -1), n.dims);
  }),
  // slice(broadcast(x, S), d, s) -> broadcast(slice(x, d', s), S') slicing x only where it is not broadcast
  rule('slice-broadcast', 'slicePushdown', 'slice', (n) => {
    const b = peel(n.inputs[0]);
    if (b.kind !== 'broadcast') return undefined;
    const { dim: d, slice: s } = n.params;
    const x = sliceOperand(b.inputs[0], b.inputs[0].shape.length, b.shape.length, b.shape[d], d, s);
    return f.broadcast(x, n.shape, n.dims);
  }),
  // sum(stack(xs), axis) -> Σ x_i: components are summed without materializing the stack
  rule('sum-stack', 'sumPushdown', 'sum', (n) => {
    const st = peel(n.inputs[0]);
    const { axes, keepDims } = n.params;
    if (st.kind !== 'stack' || keepDims || axes.length !== 1 || axes[0] !== st.params.axis) return undefined;
    return st.inputs.length === 0 ? undefined : addAll(st.inputs);
  }),
  // sum(concat(xs), axis) -> Σ sum(x_k, axis)
  rule('sum-concat', 'sumPushdown', 'sum', (n) => {
    const c = peel(n.inputs[0]);
    const { axes, keepDims } = n.params;
    if (c.kind !== 'concat' || axes.length !== 1 || axes[0] !== c.params.axis) return undefined;
    return addAll(c.inputs.map((x) => f.sum(x, axes, keepDims)));
  }),
  // transpose(transpose(x, p), q) -> transpose(x, p∘q)
  rule('transpose-transpose', 'simplify', 'transpose', (n) => {
    const t = n.inputs[0];
    if (t.kind !== 'transpose') return undefined;
    return f.transpose(
      t.inputs[0],
      n.params.perm.map((q) => t.params.perm[q]),
    );
  }),
];
