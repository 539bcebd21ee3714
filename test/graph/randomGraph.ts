// Random well-shaped graphs for differential testing: residual-stream-like expressions of
// shape [...lead, D] built from the kinds the cache uses (stacks, concats, centering, LN scales,
// neuron and head results, transposes, slices, memos), with a random root on top.
import * as g from '../../graph/index.js';
import type { Memo, Node } from '../../graph/index.js';
import { rng, type RandomSource } from './helpers.js';

type Rng = ReturnType<typeof rng>;

/** Builds a random graph from `seed`, drawing leaves from `src`. */
export function randomGraph(seed: number, src: RandomSource, memo: Memo): Node {
  const r = rng(seed);
  const D = 2 + r.int(4);
  const size = (): number => 1 + r.int(3);
  const lead0 = Array.from({ length: r.int(4) }, size);
  const root = gen(r, src, memo, lead0, D, 3);
  return top(r, src, root, lead0, D);
}

function gen(r: Rng, src: RandomSource, memo: Memo, lead: number[], D: number, depth: number): Node {
  const sub = (l: number[]): Node => gen(r, src, memo, l, D, depth - 1);
  const options: (() => Node | undefined)[] = [
    () => src.leaf([...lead, D]),
    () => (depth > 0 ? g[r.pick(['add', 'sub'] as const)](sub(lead), sub(lead)) : undefined),
    () => (depth > 0 ? g.mul(sub(lead), src.leaf(r.next() < 0.5 ? [D] : [...lead.slice(1), 1])) : undefined),
    () => (depth > 0 ? g.center(sub(lead)) : undefined),
    () =>
      depth > 0 && lead.length > 0 ? g.scale(sub(lead), src.leaf([...lead, 1], undefined, true)) : undefined,
    () =>
      depth > 0
        ? g.layerNorm(sub(lead), { weight: src.leaf([D]), variant: r.pick(['ln', 'rms'] as const) })
        : undefined,
    () => {
      // stack along a random axis of the lead dims
      if (depth <= 0 || lead.length === 0) return undefined;
      const axis = r.int(lead.length);
      const el = lead.filter((_, i) => i !== axis);
      const xs = Array.from({ length: lead[axis] }, () => sub(el));
      return g.stack(xs, { axis, labels: axis === 0 ? xs.map((_, i) => `c${i}`) : undefined });
    },
    () => {
      // concat of two parts along a random lead axis, sometimes with explicit dim-0 labels
      if (depth <= 0 || lead.length === 0) return undefined;
      const axis = r.int(lead.length);
      if (lead[axis] < 2) return undefined;
      const k = 1 + r.int(lead[axis] - 1);
      const part = (n: number): Node => sub(lead.map((d, i) => (i === axis ? n : d)));
      const labels = r.next() < 0.5 ? Array.from({ length: lead[0] }, (_, i) => `k${i}`) : undefined;
      return g.concat([part(k), part(lead[axis] - k)], { axis, labels });
    },
    () => {
      // neuron results: a[..., n, None] * W_out[n, :]
      if (lead.length === 0) return undefined;
      const n = lead[lead.length - 1];
      return g.mul(g.reshape(src.leaf(lead), [...lead, 1]), src.leaf([n, D]));
    },
    () => {
      // head results: einsum(z, W_O) over d_head
      if (lead.length === 0) return undefined;
      const h = lead[lead.length - 1];
      const dh = 1 + r.int(3);
      return g.einsum('...hd,hdm->...hm', src.leaf([...lead, dh]), src.leaf([h, dh, D]));
    },
    () => {
      // transpose of the lead dims, the last dim staying last
      if (depth <= 0 || lead.length < 2) return undefined;
      const perm = [...lead.keys()].sort(() => r.next() - 0.5);
      const inner = perm.map((p) => lead[p]);
      // transpose(x, q) has shape inner[q]; choose q so that it equals lead.
      const q = lead.map((_, i) => perm.indexOf(i));
      return g.transpose(sub(inner), [...q, lead.length]);
    },
    () => {
      // an int slice of a bigger dim, or an index list / range selecting lead[i] entries
      if (depth <= 0) return undefined;
      const i = r.int(lead.length + 1);
      if (r.next() < 0.5) {
        const m = 1 + r.int(3);
        const bigger = [...lead.slice(0, i), m, ...lead.slice(i)];
        return g.slice(sub(bigger), i, r.int(2 * m) - m);
      }
      if (i === lead.length) return undefined;
      const m = lead[i] + r.int(3);
      const bigger = lead.map((d, j) => (j === i ? m : d));
      const sel =
        r.next() < 0.5 ? Array.from({ length: lead[i] }, () => r.int(m)) : { start: m - lead[i], stop: m };
      return g.slice(sub(bigger), i, sel);
    },
    () => (depth > 0 ? g.memo(sub(lead), memo) : undefined),
    // a bias-like leaf broadcast up to the full shape
    () =>
      g.broadcast(src.leaf([...lead.map((d) => (r.next() < 0.5 ? 1 : d)), D].slice(r.int(lead.length + 1))), [
        ...lead,
        D,
      ]),
  ];
  for (;;) {
    const out = r.pick(options)();
    if (out) return out;
  }
}

function top(r: Rng, src: RandomSource, x: Node, lead: number[], D: number): Node {
  const choice = r.int(6);
  if (choice === 0) return g.dot(x, src.leaf([D]));
  if (choice === 1) return g.dot(x, src.leaf([...lead.slice(r.int(lead.length + 1)), D]));
  if (choice === 2 && lead.length > 0) {
    const i = r.int(lead.length);
    return g.slice(g.dot(x, src.leaf([D])), i, r.next() < 0.5 ? r.int(lead[i]) : { step: -1 });
  }
  if (choice === 3) return g.sum(g.dot(x, src.leaf([D])), undefined);
  if (choice === 4 && lead.length > 0) return g.sum(x, 0);
  return x;
}
