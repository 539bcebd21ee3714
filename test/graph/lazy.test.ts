// Lazy: the user-facing handle — metadata, fluent ops, materialization and introspection.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import { Lazy, PlanOptions, TensorSource } from '../../graph/index.js';
import { describeBackends } from '../helpers/backends.js';
import { expectClose } from './helpers.js';

/** A tiny "cache": embed, two attention outputs and an LN scale over batch 2, pos 3, d_model 4. */
function tinyCache(): TensorSource {
  return new TensorSource(
    'cache',
    [
      ['hook_embed', tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1)],
      ['blocks.0.hook_attn_out', tf.randomNormal([2, 3, 4], 0, 1, 'float32', 2)],
      ['blocks.1.hook_attn_out', tf.randomNormal([2, 3, 4], 0, 1, 'float32', 3)],
      ['ln_final.hook_scale', tf.randomUniform([2, 3, 1], 0.5, 2, 'float32', 4)],
      ['dir', tf.randomNormal([4], 0, 1, 'float32', 5)],
    ],
    true,
  );
}

function decomposition(src: TensorSource): Lazy {
  const bpd = ['batch', 'pos', 'd_model'];
  const parts = ['hook_embed', 'blocks.0.hook_attn_out', 'blocks.1.hook_attn_out'].map((n) =>
    src.leaf(n, bpd),
  );
  return Lazy.stack(parts, { labels: ['embed', '0_attn_out', '1_attn_out'] });
}

describeBackends('Lazy', () => {
  it('carries shape, dtype, dims and labels through fluent ops', () => {
    const src = tinyCache();
    try {
      const stack = decomposition(src);
      expect(stack.shape).toEqual([3, 2, 3, 4]);
      expect(stack.dtype).toBe('float32');
      expect(stack.dims).toEqual(['component', 'batch', 'pos', 'd_model']);
      expect(stack.labels).toEqual(['embed', '0_attn_out', '1_attn_out']);
      const attrs = stack.applyLn(src.leaf('ln_final.hook_scale')).dot(src.leaf('dir'));
      expect(attrs.shape).toEqual([3, 2, 3]);
      expect(attrs.dims).toEqual(['component', 'batch', 'pos']);
      expect(attrs.labels).toEqual(stack.labels);
      expect(attrs.slice(2, -1).shape).toEqual([3, 2]);
      expect(attrs.slice(0, { start: 1 }).labels).toEqual(['0_attn_out', '1_attn_out']);
      expect(attrs.sum(0).shape).toEqual([2, 3]);
      expect(stack.expandDims().shape).toEqual([3, 2, 3, 4, 1]);
    } finally {
      src.dispose();
    }
  });

  it('materializes the planned graph equal to the naive one, owning nothing afterwards', async () => {
    const src = tinyCache();
    try {
      const attrs = decomposition(src).applyLn(src.leaf('ln_final.hook_scale')).dot(src.leaf('dir'));
      const planned = attrs.tensor();
      const naive = attrs.withPlanOptions(PlanOptions.none()).tensor();
      await expectClose(planned, naive);
      const arr = (await attrs.array()) as number[][][];
      expect(arr).toHaveLength(3);
      expect((await attrs.data()).length).toBe(18);
      // Sum of components == dot of the summed residual (linearity).
      const total = decomposition(src).sum(0).applyLn(src.leaf('ln_final.hook_scale')).dot(src.leaf('dir'));
      await expectClose(attrs.sum(0).tensor(), total.tensor());
    } finally {
      src.dispose();
    }
  });

  it('supports mul/add/sub/scale/center/layerNorm/einsum/reshape/transpose with tensors and numbers', async () => {
    const src = tinyCache();
    const w = tf.ones([4]);
    try {
      const x = new Lazy(src.leaf('hook_embed'));
      const y = x.mul(2).add(x).sub(x.mul(3)); // == 0
      expect(Math.max(...Array.from(await y.data()).map(Math.abs))).toBeLessThan(1e-5);
      const ln = x.layerNorm({ weight: w, bias: 0 });
      const m = await ln.mean(-1).data();
      expect(Math.max(...Array.from(m).map(Math.abs))).toBeLessThan(1e-5);
      expect((await x.center().mean(-1).array()) as number[][]).toHaveLength(2);
      expect(x.scale(2).shape).toEqual([2, 3, 4]);
      expect(x.reshape([6, 4]).transpose([1, 0]).shape).toEqual([4, 6]);
      expect(x.einsum('bpd,d->bp', src.leaf('dir')).shape).toEqual([2, 3]);
      expect(x.layerNorm({ variant: 'rms' }).shape).toEqual([2, 3, 4]);
    } finally {
      w.dispose();
      src.dispose();
    }
  });

  it('explains naive vs planned plans with the rules that fired, and renders Graphviz', () => {
    const src = tinyCache();
    try {
      const attrs = decomposition(src).applyLn(src.leaf('ln_final.hook_scale')).dot(src.leaf('dir'));
      const text = attrs.explain();
      expect(text).toMatch(/== naive plan: .* ==/);
      expect(text).toMatch(/== planned plan: .* ==/);
      expect(text).toContain('dot-stack');
      expect(text).toMatchSnapshot();
      const dot = attrs.toDot();
      expect(dot.startsWith('digraph lazylens {')).toBe(true);
      expect(dot).toContain('->');
      expect(attrs.toDot(false)).toContain('stack axis=0');
    } finally {
      src.dispose();
    }
  });

  it('runs the graph/README.md example (heads and neurons, LN-applied, dotted with a direction)', async () => {
    const [b, p, h, dh, m, d] = [2, 3, 2, 2, 4, 5];
    const rnd = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const cache = new TensorSource(
      'cache',
      [
        ['blocks.0.attn.hook_z', rnd([b, p, h, dh], 1)],
        ['blocks.0.mlp.hook_post', rnd([b, p, m], 2)],
        ['ln_final.hook_scale', tf.randomUniform([b, p, 1], 0.5, 2, 'float32', 3)],
      ],
      true,
    );
    const weights = new TensorSource(
      'model weights',
      [
        ['blocks.0.attn.W_O', rnd([h, dh, d], 4)],
        ['blocks.0.mlp.W_out', rnd([m, d], 5)],
      ],
      true,
    );
    const direction = rnd([d], 6);
    try {
      const z = cache.leaf('blocks.0.attn.hook_z', ['batch', 'pos', 'head_index', 'd_head']);
      const W_O = weights.leaf('blocks.0.attn.W_O', ['head_index', 'd_head', 'd_model']);
      const heads = new Lazy(g.einsum('...hd,hdm->...hm', z, W_O));
      expect(heads.dims).toEqual(['batch', 'pos', 'head_index', 'd_model']);
      const post = cache.leaf('blocks.0.mlp.hook_post', ['batch', 'pos', 'd_mlp']);
      const neurons = new Lazy(post).expandDims().mul(weights.leaf('blocks.0.mlp.W_out'));
      const labels = ['L0H0', 'L0H1', 'L0N0', 'L0N1', 'L0N2', 'L0N3'];
      const stack = Lazy.concat([heads.transpose([2, 0, 1, 3]), neurons.transpose([2, 0, 1, 3])], { labels });
      const attrs = stack.applyLn(cache.leaf('ln_final.hook_scale')).dot(direction);
      expect(attrs.shape).toEqual([6, b, p]);
      expect(attrs.labels).toEqual(labels);
      const rules = attrs.plan().fired.map((f) => f.rule);
      expect(rules).toEqual(expect.arrayContaining(['dot-einsum', 'dot-neuron']));
      await expectClose(attrs.tensor(), attrs.withPlanOptions(PlanOptions.none()).tensor());
    } finally {
      direction.dispose();
      cache.dispose();
      weights.dispose();
    }
  });
});
