// Planner driver: options, validator, memo handling, the rewrite guard and stack-free depth.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import {
  execute,
  Memo,
  PlanError,
  PlanOptions,
  plan,
  rewrite,
  TensorSource,
  validatePlan,
} from '../../graph/index.js';
import { describeBackends } from '../helpers/backends.js';
import { expectClose } from './helpers.js';

describeBackends('planner', () => {
  it('offers presets: all, none, only, with', () => {
    expect(PlanOptions.all().dotPushdown).toBe(true);
    const none = PlanOptions.none();
    expect(none.dotPushdown || none.slicePushdown || none.neuronDot || none.headDot).toBe(false);
    expect(PlanOptions.only('headDot').headDot).toBe(true);
    expect(PlanOptions.only('headDot').neuronDot).toBe(false);
    expect(PlanOptions.with({ validate: true }).validate).toBe(true);
  });

  it('the validator rejects a plan that changes the root shape, dims or labels', () => {
    const src = new TensorSource('s');
    const a = g.leaf('a', src, { shape: [2, 3], dims: ['batch', 'd_model'] });
    const b = g.leaf('b', src, { shape: [3, 2] });
    expect(() => validatePlan(a, b)).toThrow(PlanError);
    expect(() => validatePlan(a, b)).toThrow(/root shape \[2, 3\] became \[3, 2\]/);
    const c = g.leaf('c', src, { shape: [2, 3], dims: ['batch', 'pos'] });
    expect(() => validatePlan(a, c)).toThrow(/dims \(batch, d_model\) became \(batch, pos\)/);
    const s1 = g.stack([a, a], { labels: ['x', 'y'] });
    const s2 = g.stack([a, a], { labels: ['x', 'z'] });
    expect(() => validatePlan(s1, s2)).toThrow(/labels changed/);
    expect(() => validatePlan(s1, s1)).not.toThrow();
  });

  it('restores the naive root names when rewrites infer others', () => {
    const src = new TensorSource('s');
    const x = g.leaf('x', src, { shape: [2, 3, 4], dims: ['component', 'batch', 'd_model'] });
    const s = g.leaf('s', src, { shape: [3, 1], dims: ['pos', g.ANON] });
    const root = g.dot(g.scale(x, s), g.leaf('v', src, { shape: [4] }));
    const p = plan(root, PlanOptions.with({ validate: true }));
    expect(p.root.dims).toEqual(root.dims);
    expect(p.fired.length).toBeGreaterThan(0);
  });

  it('pushes work into an empty memo but reads a filled one', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 5],
    ]);
    const src = new TensorSource('s', [['x', x]], true);
    const memo = new Memo('cache');
    try {
      const stack = g.memo(g.stack([src.leaf('x'), src.leaf('x')]), memo);
      const root = g.dot(stack, g.leaf('x', src, { shape: [2, 2] }));
      expect(plan(root).fired.map((f) => f.rule)).toContain('dot-stack');
      execute(stack).dispose(); // fills the memo
      expect(memo.size).toBe(1);
      expect(plan(root).fired).toEqual([]);
      await expectClose(execute(plan(root).root), execute(root));
    } finally {
      memo.dispose();
      src.dispose();
    }
  });

  it('stops a runaway rewrite with a clear error', () => {
    const src = new TensorSource('s');
    const root = g.dot(
      g.center(g.center(g.leaf('x', src, { shape: [3] }))),
      g.leaf('v', src, { shape: [3] }),
    );
    expect(() => rewrite(root, PlanOptions.with({ maxRewrites: 0 }))).toThrow(/expected at most 0/);
  });

  it('plans and runs very deep and very wide graphs without recursion', async () => {
    const x = tf.ones([4]);
    const src = new TensorSource('s', [['x', x]], true);
    try {
      let deep: g.Node = src.leaf('x');
      for (let i = 0; i < 20000; i++) deep = g.add(deep, src.leaf('x'));
      const root = g.dot(deep, src.leaf('x'));
      const p = plan(root);
      expect(p.fired.length).toBe(20000);
      const t = execute(p.root);
      expect(await t.array()).toBe(4 * 20001);
      t.dispose();
      const wide = g.stack(Array.from({ length: 5000 }, () => src.leaf('x')));
      expect(plan(g.dot(wide, src.leaf('x'))).root.shape).toEqual([5000]);
    } finally {
      src.dispose();
    }
  });
});
