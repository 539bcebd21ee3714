// One definition of when a value is freed (after its last consumer), shared by the executor and the
// cost model: the bytes of node outputs the executor keeps alive between ops must be what the cost
// model says, op by op, on graphs of several shapes (shared inputs, several roots, planned graphs).
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import {
  estimate,
  executeMany,
  freedAfter,
  plan,
  PlanOptions,
  topoOrder,
  type Node,
} from '../../graph/index.js';
import { describeBackends } from '../helpers/backends.js';
import { RandomSource } from './helpers.js';

/** The executor's live output bytes (above the starting level) after each op, and their peak. */
function measure(roots: readonly Node[]): { peak: number; steps: number } {
  const base = tf.memory().numBytes;
  let peak = 0;
  let steps = 0;
  const out = executeMany(roots, {
    onStep: () => {
      peak = Math.max(peak, tf.memory().numBytes - base);
      steps++;
    },
  });
  out.forEach((t) => t.dispose());
  expect(tf.memory().numBytes).toBe(base);
  return { peak, steps };
}

/** Graphs whose ops each leave one fresh tensor of the node's size (no views of sources, no numbers). */
const graphs: Record<string, (s: RandomSource) => Node[]> = {
  'a stack projected on a direction': (s) => [
    g.dot(g.stack([s.leaf([4, 6]), s.leaf([4, 6]), s.leaf([4, 6])]), s.leaf([6])),
  ],
  'a value shared by two consumers, freed after the second': (s) => {
    const y = g.center(s.leaf([5, 8]));
    return [g.sum(g.add(g.mul(y, s.leaf([8])), g.scale(y, s.leaf([5, 1], undefined, true))), 0)];
  },
  'slices, a concat, a transpose and an einsum': (s) => {
    const z = g.einsum('...hd,hdm->...hm', s.leaf([3, 4, 2, 5]), s.leaf([2, 5, 6]));
    const c = g.concat([g.slice(z, 0, { stop: 2 }), g.slice(z, 0, { start: 1 })]);
    return [g.transpose(g.sum(c, 2), [1, 0, 2])];
  },
  'several roots sharing a subgraph (roots are kept)': (s) => {
    const h = g.layerNorm(s.leaf([6, 8]), { weight: s.leaf([8]) });
    return [g.dot(h, s.leaf([8])), g.center(h), g.slice(h, 0, [1, 3])];
  },
};

describeBackends('freeing', () => {
  for (const [name, build] of Object.entries(graphs)) {
    it(`the cost model's live peak is the executor's: ${name}`, () => {
      const src = new RandomSource(7);
      try {
        const roots = build(src);
        const planned = roots.map((r) => plan(r, PlanOptions.with({ costGuard: false })).root);
        for (const rs of [roots, planned]) {
          const cost = estimate(rs);
          const run = measure(rs);
          expect(run.steps).toBe(cost.nodes);
          expect(run.peak).toBe(cost.peakLiveBytes);
          expect(cost.peakLiveBytes).toBeGreaterThan(0);
          expect(cost.peakBytes).toBeGreaterThanOrEqual(cost.peakLiveBytes);
        }
      } finally {
        src.dispose();
      }
    });
  }

  it('frees each value right after its last consumer, never a root, never below a source', () => {
    const src = new RandomSource(1);
    try {
      const x = src.leaf([2, 3]);
      const y = g.center(x);
      const a = g.mul(y, src.leaf([3]));
      const b = g.add(a, y);
      const order = topoOrder([b, a]);
      const freed = freedAfter(order, [b, a]);
      const at = (n: Node): number => freed.findIndex((ns) => ns.includes(n));
      // y is read by a and then by b: it dies after b, the later of the two.
      expect(order[at(y)]).toBe(b);
      expect(order[at(x)]).toBe(y);
      // a is consumed by b but is also a root: kept.
      expect(at(a)).toBe(-1);
      expect(at(b)).toBe(-1);
      // With y treated as a source (a memo hit), x is not consumed at all.
      expect(freedAfter(order, [b, a], (n) => n === y).flat()).not.toContain(x);
    } finally {
      src.dispose();
    }
  });
});
