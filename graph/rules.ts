/**
 * The planner's rewrite rules: one flat table. Each entry names the option that switches it, a
 * pattern over the node it rewrites and the nodes below it (see `pattern.ts`), and a rewrite that
 * builds the equivalent node from what the pattern captured, or returns `undefined` to decline. The
 * driver in `planner.ts` matches the patterns and applies the rules to a fixed point. Every entry's
 * comment states the identity it applies; each has a property test.
 */
import { einsumLetters, formatEinsum } from './einsumSpec.js';
import * as f from './factory.js';
import type { Kind, Node } from './node.js';
import { any, exact, is, type Captures, type Pattern } from './pattern.js';
import {
  addAll,
  dropLast,
  keepsAxis,
  last,
  offsets,
  pickConcatenated,
  pickStacked,
  projectEinsum,
  shift,
  sliceOperand,
  unpermute,
} from './pushdown.js';
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
export interface Rule {
  /** Short name printed by `explain()` where the rule fired. */
  readonly name: string;
  /** The {@link PlanOptions} switch that enables the rule. */
  readonly flag: RuleFlag;
  /** The node kind the rule matches at its root (its pattern's root kind). */
  readonly root: Kind;
  /** What the rule matches: the root and the nodes below it, each captured by name. */
  readonly pattern: Pattern;
  /** The replacement built from the pattern's captures, or `undefined` to decline. */
  readonly rewrite: (captures: Captures) => Node | undefined;
}

/**
 * A table entry: `rewrite` receives the captures of `pattern`, typed by it.
 * @example
 * // dot(center(x), v) -> dot(x, center(v))
 * rule('dot-center', 'dotThroughCenter', is('dot', 'n', is('center', 'c', any('x')), any('v')),
 *   ({ x, v }) => f.dot(x, f.center(v)))
 */
export function rule<C extends Captures>(
  name: string,
  flag: RuleFlag,
  pattern: Pattern<C>,
  rewrite: (captures: C) => Node | undefined,
): Rule {
  const roots = [...(pattern.kinds ?? [])];
  if (roots.length !== 1) {
    throw new TypeError(`rule ${name}: given a pattern of ${roots.length} root kinds, expected one.`);
  }
  // The driver only calls `rewrite` with what `pattern` captured, so the captures have type C.
  return { name, flag, root: roots[0], pattern, rewrite: rewrite as (c: Captures) => Node | undefined };
}

/** The rewrite table. Order matters: at a node, the first enabled rule that fires wins. */
export const rules: readonly Rule[] = [
  // slice(stack(xs), axis, i) -> xs[i];  slice(stack(xs), axis, S) -> stack(xs[S]);  off-axis: stack(slice(x))
  rule('slice-stack', 'slicePushdown', is('slice', 'n', is('stack', 'st')), ({ n, st }) => {
    const { dim: d, slice: s } = n.params;
    const { axis, dim, labels } = st.params;
    if (d === axis) return pickStacked(st, s, n.labels);
    if (st.inputs.length === 0) return undefined;
    const xs = st.inputs.map((x) => f.slice(x, d < axis ? d : d - 1, s));
    return f.stack(xs, { axis: shift(axis, d, s), dim, labels });
  }),
  // slice(concat(xs), axis, S) -> concat(slice(x_k, axis, S_k)) when S visits pieces in order; off-axis: concat(slice(x))
  rule('slice-concat', 'slicePushdown', is('slice', 'n', is('concat', 'c')), ({ n, c }) => {
    const { dim: d, slice: s } = n.params;
    const { axis } = c.params;
    if (d === axis) return pickConcatenated(c, s, n.labels);
    // Explicit labels name dim 0: they survive only when dim 0 is not the one sliced.
    const labels = d === 0 ? undefined : c.params.labels;
    return f.concat(
      c.inputs.map((x) => f.slice(x, d, s)),
      { axis: shift(axis, d, s), labels },
    );
  }),
  // slice(a ∘ b, d, S) -> slice(a, d, S) ∘ slice(b, d, S) for ∘ in mul/add/sub/scale, broadcast dims kept
  rule(
    'slice-elementwise',
    'slicePushdown',
    is('slice', 'n', is(['mul', 'add', 'sub', 'scale'], 'e')),
    ({ n, e }) => {
      const [a, b] = e.inputs.map((x) => sliceOperand(x, e, n.params.dim, n.params.slice));
      return f[e.kind](a, b);
    },
  ),
  // slice(center(x), d, S) -> center(slice(x, d, S)) for d not the last dim (rows are independent)
  rule('slice-center', 'slicePushdown', is('slice', 'n', is('center', 'c', any('x'))), ({ n, c, x }) => {
    if (n.params.dim === c.shape.length - 1) return undefined;
    return f.center(f.slice(x, n.params.dim, n.params.slice));
  }),
  // slice(layerNorm(x, w, b), d, S) -> layerNorm(slice(x), slice(w), slice(b)) for d not the last dim
  rule('slice-layerNorm', 'slicePushdown', is('slice', 'n', is('layerNorm', 'ln')), ({ n, ln }) => {
    const { dim: d, slice: s } = n.params;
    if (d === ln.shape.length - 1) return undefined;
    const [x, ...affine] = ln.inputs.map((y) => sliceOperand(y, ln, d, s));
    const { variant, eps, weight, bias } = ln.params;
    return f.layerNorm(x, {
      variant,
      eps,
      weight: weight ? affine[0] : undefined,
      bias: bias ? affine.at(-1) : undefined,
    });
  }),
  // slice(dot(x, v), d, S) -> dot(slice(x, d, S), slice(v, d, S)) on the broadcast leading dims
  rule(
    'slice-dot',
    'slicePushdown',
    is('slice', 'n', is('dot', 'dt', any('x'), any('v'))),
    ({ n, dt, x, v }) => {
      const { dim: d, slice: s } = n.params;
      return f.dot(sliceOperand(x, dt, d, s, true), sliceOperand(v, dt, d, s, true));
    },
  ),
  // slice(transpose(x, p), d, S) -> transpose(slice(x, p[d], S), p') with p' renumbered if the dim drops
  rule(
    'slice-transpose',
    'slicePushdown',
    is('slice', 'n', is('transpose', 't', any('x'))),
    ({ n, t, x }) => {
      const { dim: d, slice: s } = n.params;
      const { perm } = t.params;
      const rest = s.collapses ? perm.filter((_, i) => i !== d).map((p) => (p > perm[d] ? p - 1 : p)) : perm;
      return f.transpose(f.slice(x, perm[d], s), rest);
    },
  ),
  // slice(einsum(a, b), d, S) -> einsum(slice(a), slice(b)) on the operands holding out[d]'s letter
  rule(
    'slice-einsum',
    'slicePushdown',
    is('slice', 'n', is('einsum', 'e', any('a'), any('b'))),
    ({ n, e, a, b }) => {
      const l = einsumLetters(e.params.spec, a.shape, b.shape);
      const { dim: d, slice: s } = n.params;
      const letter = l.out[d];
      const cut = (x: Node, ls: readonly string[]): Node =>
        ls.includes(letter) ? f.slice(x, ls.indexOf(letter), s) : x;
      const drop = (ls: readonly string[]): readonly string[] =>
        s.collapses ? ls.filter((c) => c !== letter) : ls;
      return f.einsum(formatEinsum(drop(l.a), drop(l.b), drop(l.out)), cut(a, l.a), cut(b, l.b));
    },
  ),
  // dot(stack(xs), v) -> stack(dot(x_i, v_i)), v_i = v's slice i when v spans the stack axis
  rule('dot-stack', 'dotPushdown', is('dot', 'n', is('stack', 'st'), any('v')), ({ n, st, v }) => {
    const { axis, dim, labels } = st.params;
    if (st.inputs.length === 0 || !keepsAxis(n, st, axis)) return undefined;
    const parts = st.inputs.map((x, i) => f.dot(x, sliceOperand(v, n, axis, Slice.from(i), true)));
    return f.stack(parts, { axis, dim, labels });
  }),
  // dot(concat(xs), v) -> concat(dot(x_k, v[off_k : off_k + n_k])) along the concat axis
  rule('dot-concat', 'dotPushdown', is('dot', 'n', is('concat', 'c'), any('v')), ({ n, c, v }) => {
    const { axis, labels } = c.params;
    if (!keepsAxis(n, c, axis)) return undefined;
    const starts = offsets(c.inputs.map((x) => x.shape[axis]));
    const parts = c.inputs.map((x, k) => {
      const range = Slice.from({ start: starts[k], stop: starts[k] + x.shape[axis] });
      return f.dot(x, sliceOperand(v, n, axis, range, true));
    });
    return f.concat(parts, { axis, labels });
  }),
  // dot(a ± b, v) -> dot(a, v) ± dot(b, v) when neither a nor b broadcasts along the contracted dim
  rule(
    'dot-add',
    'dotPushdown',
    is('dot', 'n', is(['add', 'sub'], 'e', any('a'), any('b')), any('v')),
    ({ e, a, b, v }) => {
      if ([a, b].some((x) => x.shape.length === 0 || last(x) !== last(e))) return undefined;
      return f[e.kind](f.dot(a, v), f.dot(b, v));
    },
  ),
  // dot(transpose(x, p), v) -> transpose(dot(x, p⁻¹(v)), p[:-1]) when p keeps the last dim last
  rule(
    'dot-transpose',
    'dotPushdown',
    is('dot', 'n', is('transpose', 't', any('x')), any('v')),
    ({ t, x, v }) => {
      const { perm } = t.params;
      if (v.shape.length > perm.length || perm[perm.length - 1] !== perm.length - 1) return undefined;
      return f.transpose(f.dot(x, unpermute(v, perm)), perm.slice(0, -1));
    },
  ),
  // dot(reshape(x), v) -> reshape(dot(x, v)) when the reshape keeps the last dim and v is 1-D
  rule(
    'dot-reshape',
    'dotPushdown',
    is('dot', 'n', is('reshape', 'rs', any('x')), any('v')),
    ({ n, rs, x, v }) => {
      if (v.shape.length !== 1 || x.shape.length === 0 || last(x) !== last(rs)) return undefined;
      return f.reshape(f.dot(x, v), rs.shape.slice(0, -1), n.dims);
    },
  ),
  // dot(x / s, v) -> dot(x, v) / s[..., 0] when s is constant along the contracted dim
  rule(
    'dot-scale',
    'dotThroughScale',
    is('dot', 'n', is('scale', 'sc', any('x'), any('s')), any('v')),
    ({ x, s, v }) => {
      if (s.shape.length > 0 && last(s) !== 1) return undefined;
      return f.scale(f.dot(x, v), dropLast(s));
    },
  ),
  // dot(center(x), v) -> dot(x, center(v)): Σ(x - x̄)v = Σx v - x̄Σv = Σ x (v - v̄)
  rule('dot-center', 'dotThroughCenter', is('dot', 'n', is('center', 'c', any('x')), any('v')), ({ x, v }) =>
    f.dot(x, f.center(v)),
  ),
  // dot(a[..., None] * W, v) -> a * dot(W, v): an operand constant along the contracted dim factors out
  rule(
    'dot-neuron',
    'neuronDot',
    is('dot', 'n', is('mul', 'm', any('p'), any('q')), any('v')),
    ({ m, p, q, v }) => {
      const flat = (x: Node): boolean => x.shape.length === 0 || last(x) === 1;
      const [a, w] = flat(p) ? [p, q] : flat(q) ? [q, p] : [];
      if (!a || !w || w.shape.length === 0 || last(w) !== last(m)) return undefined;
      return f.mul(dropLast(a), f.dot(w, v));
    },
  ),
  // dot(einsum(z, W_O), v) -> einsum(z, W_O·v) when out's last letter m lives in one operand
  rule(
    'dot-einsum',
    'headDot',
    is('dot', 'n', is('einsum', 'e', any('a'), any('b')), any('v')),
    ({ e, a, b, v }) => projectEinsum(e.params.spec, a, b, v),
  ),
  // dot(broadcast(x, S), v) -> broadcast(dot(x, v), S[:-1]) when x keeps the last dim and v is 1-D
  rule(
    'dot-broadcast',
    'dotPushdown',
    is('dot', 'n', is('broadcast', 'bc', any('x')), any('v')),
    ({ n, bc, x, v }) => {
      if (v.shape.length !== 1 || x.shape.length === 0 || last(x) !== last(bc)) return undefined;
      return f.broadcast(f.dot(x, v), bc.shape.slice(0, -1), n.dims);
    },
  ),
  // slice(broadcast(x, S), d, s) -> broadcast(slice(x, d', s), S') slicing x only where it is not broadcast
  rule(
    'slice-broadcast',
    'slicePushdown',
    is('slice', 'n', is('broadcast', 'bc', any('x'))),
    ({ n, bc, x }) => f.broadcast(sliceOperand(x, bc, n.params.dim, n.params.slice), n.shape, n.dims),
  ),
  // sum(stack(xs), axis) -> Σ x_i: components are summed without materializing the stack
  rule('sum-stack', 'sumPushdown', is('sum', 'n', is('stack', 'st')), ({ n, st }) => {
    const { axes, keepDims } = n.params;
    if (keepDims || axes.length !== 1 || axes[0] !== st.params.axis || st.inputs.length === 0)
      return undefined;
    return addAll(st.inputs);
  }),
  // sum(concat(xs), axis) -> Σ sum(x_k, axis)
  rule('sum-concat', 'sumPushdown', is('sum', 'n', is('concat', 'c')), ({ n, c }) => {
    const { axes, keepDims } = n.params;
    if (axes.length !== 1 || axes[0] !== c.params.axis) return undefined;
    return addAll(c.inputs.map((x) => f.sum(x, axes, keepDims)));
  }),
  // transpose(transpose(x, p), q) -> transpose(x, p∘q); a memo between them is kept (it is not peeled)
  rule(
    'transpose-transpose',
    'simplify',
    is('transpose', 'n', exact(is('transpose', 't', any('x')))),
    ({ n, t, x }) =>
      f.transpose(
        x,
        n.params.perm.map((q) => t.params.perm[q]),
      ),
  ),
];
