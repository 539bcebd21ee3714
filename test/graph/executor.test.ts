// Executor: every kind's tfjs lowering on each backend (wasm has no Einsum kernel), ownership,
// freeing, and failures that must leave nothing behind.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import {
  DisposedError,
  execute,
  executeMany,
  executeNamed,
  functionSource,
  Lazy,
  Memo,
  TensorSource,
  UnresolvedLeafError,
} from '../../graph/index.js';
import { describeBackends } from '../helpers/backends.js';
import { expectClose } from './helpers.js';

/** Runs `body` with a source holding `tensors`; disposes them afterwards. */
async function withSource(
  tensors: Record<string, tf.Tensor>,
  body: (s: TensorSource) => Promise<void> | void,
): Promise<void> {
  const s = new TensorSource('fixture', Object.entries(tensors), true);
  try {
    await body(s);
  } finally {
    s.dispose();
  }
}

const arr = async (n: g.Node): Promise<unknown> => new Lazy(n, g.PlanOptions.none()).array();

describeBackends('executor', () => {
  it('runs every kind with the expected values', async () => {
    await withSource(
      {
        x: tf.tensor2d([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        v: tf.tensor1d([1, 0, -1]),
        s: tf.tensor2d([[2], [4]]),
        w: tf.tensor1d([1, 2, 3]),
        b: tf.tensor1d([0, 0, 1]),
      },
      async (src) => {
        const [x, v, s, w, b] = ['x', 'v', 's', 'w', 'b'].map((n) => src.leaf(n));
        expect(await arr(g.slice(x, 1, -1))).toEqual([3, 6]);
        expect(await arr(g.slice(x, 1, { start: 0, step: 2 }))).toEqual([
          [1, 3],
          [4, 6],
        ]);
        expect(await arr(g.slice(x, 1, [2, 0]))).toEqual([
          [3, 1],
          [6, 4],
        ]);
        const empty = new Lazy(g.slice(x, 1, { start: 2, stop: 1 }));
        expect(empty.shape).toEqual([2, 0]);
        expect((await empty.data()).length).toBe(0);
        expect(await arr(g.stack([v, w], { axis: 1 }))).toEqual([
          [1, 1],
          [0, 2],
          [-1, 3],
        ]);
        expect(await arr(g.stack([v]))).toEqual([[1, 0, -1]]);
        expect(await arr(g.stack([], { element: { shape: [2] } }))).toEqual([]);
        expect(await arr(g.concat([v, w]))).toEqual([1, 0, -1, 1, 2, 3]);
        expect(await arr(g.center(x))).toEqual([
          [-1, 0, 1],
          [-1, 0, 1],
        ]);
        expect(await arr(g.scale(x, s))).toEqual([
          [0.5, 1, 1.5],
          [1, 1.25, 1.5],
        ]);
        expect(await arr(g.dot(x, v))).toEqual([-2, -2]);
        expect(await arr(g.dot(v, x))).toEqual([-2, -2]);
        expect(await arr(g.dot(x, g.slice(g.stack([v, w]), 0, { stop: 2 })))).toEqual([-2, 32]);
        // Broadcast directions contract as one matMul; v's size-1 dim is squeezed, not materialized.
        expect(await arr(g.dot(x, g.reshape(g.stack([v, w, b]), [3, 1, 3])))).toEqual([
          [-2, -2],
          [14, 32],
          [3, 6],
        ]);
        expect(await arr(g.mul(x, v))).toEqual([
          [1, 0, -3],
          [4, 0, -6],
        ]);
        expect(await arr(g.add(v, w))).toEqual([2, 2, 2]);
        expect(await arr(g.sub(v, w))).toEqual([0, -2, -4]);
        expect(await arr(g.sum(x, 1))).toEqual([6, 15]);
        expect(await arr(g.sum(x))).toEqual(21);
        expect(await arr(g.mean(x, 0, true))).toEqual([[2.5, 3.5, 4.5]]);
        expect(await arr(g.reshape(x, [3, 2]))).toEqual([
          [1, 2],
          [3, 4],
          [5, 6],
        ]);
        expect(await arr(g.transpose(x, [1, 0]))).toEqual([
          [1, 4],
          [2, 5],
          [3, 6],
        ]);
        expect(await arr(g.mul(g.constant(2), v))).toEqual([2, 0, -2]);
        expect(await arr(g.broadcast(v, [2, 3]))).toEqual([
          [1, 0, -1],
          [1, 0, -1],
        ]);
        // LN over [1,2,3]: centered [-1,0,1], var 2/3 → y = c/sqrt(2/3+eps); weight and bias applied.
        const ln = (await arr(g.layerNorm(x, { weight: w, bias: b, eps: 0 }))) as number[][];
        const k = 1 / Math.sqrt(2 / 3);
        expect(ln[0][0]).toBeCloseTo(-k, 5);
        expect(ln[1][2]).toBeCloseTo(3 * k + 1, 5);
        const rms = (await arr(g.layerNorm(v, { variant: 'rms', eps: 0 }))) as number[];
        expect(rms[0]).toBeCloseTo(1 / Math.sqrt(2 / 3), 5);
      },
    );
  });

  it('lowers einsum to matMul: head results, contractions, sums and batch letters', async () => {
    const z = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 1);
    const W_O = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 2);
    await withSource({ z, W_O }, async (src) => {
      const head = g.einsum('...hd,hdm->...hm', src.leaf('z'), src.leaf('W_O'));
      // Reference by broadcasting: (z[..., None] * W_O).sum(-2), as TransformerLens computes it.
      const ref = tf.tidy(() => tf.sum(tf.mul(tf.expandDims(z, -1), W_O), -2));
      await expectClose(execute(head), ref);
      const summed = g.einsum('bphd,hdm->bm', src.leaf('z'), src.leaf('W_O'));
      await expectClose(
        execute(summed),
        tf.tidy(() => tf.sum(tf.sum(tf.sum(tf.mul(tf.expandDims(z, -1), W_O), -2), 2), 1)),
      );
      // No batch letter, output letters permuted: a plain matMul then a transpose.
      const w = g.slice(src.leaf('W_O'), 0, 0);
      const moved = g.einsum('bphd,dm->bhpm', src.leaf('z'), w);
      const ref2 = tf.tidy(() =>
        tf.transpose(
          tf.reshape(
            tf.matMul(tf.reshape(z, [-1, 5]), tf.slice(W_O, [0, 0, 0], [1, 5, 6]).reshape([5, 6])),
            [2, 3, 4, 6],
          ),
          [0, 2, 1, 3],
        ),
      );
      await expectClose(execute(moved), ref2);
    });
  });

  it('returns caller-owned tensors and frees every intermediate', async () => {
    await withSource({ x: tf.ones([4, 3]) }, async (src) => {
      const x = src.leaf('x');
      const before = tf.memory().numTensors;
      const t = execute(g.sum(g.center(g.mul(x, x)), 1));
      expect(tf.memory().numTensors).toBe(before + 1);
      t.dispose();
      // A root that is a leaf is cloned, so disposing it leaves the source intact.
      const r = execute(x);
      r.dispose();
      expect(src.resolve('x')?.isDisposed).toBe(false);
      const [p, q] = executeMany([g.sum(x, 0), g.sum(x, 0)]);
      expect(await p.array()).toEqual([4, 4, 4]);
      expect(p).not.toBe(q);
      p.dispose();
      q.dispose();
    });
  });

  it('frees everything when an op throws midway', async () => {
    await withSource({ x: tf.ones([4, 3]) }, (src) => {
      const x = src.leaf('x');
      const root = g.dot(g.center(g.mul(x, x)), g.slice(x, 0, 0));
      const before = tf.memory().numTensors;
      let steps = 0;
      expect(() =>
        execute(root, {
          onStep: () => {
            if (++steps === 4) throw new Error('boom');
          },
        }),
      ).toThrow('boom');
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('names a leaf that cannot be resolved, before running anything', () => {
    const src = new TensorSource('cache');
    const n = g.leaf('blocks.0.hook_resid_pre', src, { shape: [2] });
    expect(() => execute(g.center(n))).toThrow(UnresolvedLeafError);
    expect(() => execute(g.center(n))).toThrow(/leaf 'blocks.0.hook_resid_pre': given cache has no tensor/);
  });

  it('fails clearly on disposed tensors, sources and memos', async () => {
    const t = tf.ones([3]);
    const c = g.center(g.constant(t));
    t.dispose();
    expect(() => execute(c)).toThrow(DisposedError);
    expect(() => execute(c)).toThrow(/given a disposed tensor/);

    await withSource({ x: tf.ones([3]) }, (src) => {
      const x = src.leaf('x');
      src.dispose();
      expect(() => execute(g.center(x))).toThrow(/given a fixture that was disposed/);
    });

    const u = tf.ones([3]);
    const src = new TensorSource('cache', [['u', u]]);
    const leafU = src.leaf('u');
    u.dispose();
    expect(() => execute(leafU)).toThrow(/given a disposed tensor from cache/);

    const v = tf.ones([3]);
    const memo = new Memo('ActivationCache');
    const lazy = new Lazy(g.center(g.constant(v))).memoize(memo);
    memo.dispose();
    expect(() => lazy.tensor()).toThrow(/ActivationCache was disposed/);
    v.dispose();
  });

  it('memoizes: the second materialization reuses the stored value', async () => {
    await withSource({ x: tf.tensor1d([1, 2, 3]) }, async (src) => {
      const memo = new Memo('cache');
      try {
        const heavy = new Lazy(g.center(src.leaf('x'))).memoize(memo);
        const steps = [0, 0];
        const first = heavy.tensor({ stats: { peakBytes: 0, steps: 0 } });
        first.dispose();
        expect(memo.size).toBe(1);
        // Rebuilding the same graph yields the same nodes (interning), hence the same memo key.
        const again = new Lazy(g.center(src.leaf('x'))).memoize(memo);
        const stats = { peakBytes: 0, steps: 0 };
        expect(await again.array({ stats })).toEqual([-1, 0, 1]);
        steps[1] = stats.steps;
        expect(steps[1]).toBe(1); // just the memo read: nothing recomputed
        // A consumer of a filled memo reads it instead of recomputing (the planner keeps it opaque).
        expect(await again.sum().array()).toBeCloseTo(0, 6);
      } finally {
        memo.dispose();
      }
    });
  });

  it('reports peak bytes measured around each op', async () => {
    await withSource({ x: tf.ones([64, 16]) }, (src) => {
      const stats = { peakBytes: 0, steps: 0 };
      const t = execute(g.sum(g.mul(src.leaf('x'), src.leaf('x')), 1), { stats });
      t.dispose();
      expect(stats.peakBytes).toBeGreaterThanOrEqual(64 * 16 * 4);
      expect(stats.steps).toBe(3);
    });
  });

  it('materializes topk, array and data without leftovers', async () => {
    await withSource({ x: tf.tensor1d([3, 1, 2]) }, async (src) => {
      const l = new Lazy(src.leaf('x'));
      const { values, indices } = l.topk(2);
      expect(await values.array()).toEqual([3, 2]);
      expect(await indices.array()).toEqual([0, 2]);
      values.dispose();
      indices.dispose();
      expect(Array.from(await l.mul(2).data())).toEqual([6, 2, 4]);
    });
  });

  it('runs a named set, sharing subgraphs, over a function source', async () => {
    const w = tf.tensor1d([1, 2, 3]);
    let disposed = false;
    const src = functionSource(
      'weights',
      (name) => (name === 'w' ? w : undefined),
      () => disposed,
    );
    try {
      const x = g.leaf('w', src, { shape: [3] });
      const shared = g.center(x);
      const out = executeNamed({ total: g.sum(shared), scaled: g.mul(shared, g.constant(2)) });
      expect(await out.total.array()).toBeCloseTo(0, 6);
      expect(await out.scaled.array()).toEqual([-2, 0, 2]);
      out.total.dispose();
      out.scaled.dispose();
      disposed = true;
      expect(() => execute(shared)).toThrow(/given a weights that was disposed/);
    } finally {
      w.dispose();
    }
  });

  it('casts int32 inputs where a float result is needed, and concats a single labelled input', async () => {
    await withSource({ i: tf.tensor1d([1, 2, 6], 'int32') }, async (src) => {
      const i = src.leaf('i');
      expect(i.dtype).toBe('int32');
      expect(await arr(g.mean(i))).toBeCloseTo(3, 6);
      expect(await arr(g.center(i))).toEqual([-2, -1, 3]);
      expect(await arr(g.sum(i))).toBe(9);
      const one = g.concat([g.reshape(i, [1, 3])], { labels: ['only'] });
      expect(one.kind).toBe('concat');
      expect(await arr(one)).toEqual([[1, 2, 6]]);
    });
  });
});
