// Nodes: interning, immutability, build-time shape inference and errors, dims and labels.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import { ShapeError, SliceError, TensorSource } from '../../graph/index.js';

const src = new TensorSource('test');
const x = (shape: number[], dims?: string[], name = `l${shape.join('x')}${dims?.join('') ?? ''}`) =>
  g.leaf(name, src, { shape, dims });

describe('nodes', () => {
  it('interns: the same node twice is the same object', () => {
    const a = x([2, 3], ['batch', 'd_model']);
    const v = x([3]);
    expect(g.dot(a, v)).toBe(g.dot(a, v));
    expect(g.slice(a, 0, 1)).toBe(g.slice(a, -2, 1));
    expect(g.slice(a, 1, { start: 1 })).toBe(g.slice(a, 1, { start: 1 }));
    expect(g.slice(a, 1, { start: 1 })).not.toBe(g.slice(a, 1, [1, 2]));
    expect(g.stack([a, a], { labels: ['p', 'q'] })).toBe(g.stack([a, a], { labels: ['p', 'q'] }));
    expect(g.leaf('w', src, { shape: [3] })).not.toBe(g.leaf('w', new TensorSource('other'), { shape: [3] }));
  });

  it('is frozen', () => {
    const n = g.center(x([2, 3]));
    expect(Object.isFrozen(n)).toBe(true);
    expect(Object.isFrozen(n.shape)).toBe(true);
    expect(Object.isFrozen(n.params)).toBe(true);
  });

  it('infers shapes, dims and labels', () => {
    const resid = x([2, 4, 3], ['batch', 'pos', 'd_model']);
    const s = g.stack([resid, resid, resid], { labels: ['embed', 'pos_embed', '0_attn_out'] });
    expect(s.shape).toEqual([3, 2, 4, 3]);
    expect(s.dims).toEqual(['component', 'batch', 'pos', 'd_model']);
    const d = g.dot(g.scale(g.center(s), x([2, 4, 1], ['batch', 'pos', g.ANON])), x([3], ['d_model']));
    expect(d.shape).toEqual([3, 2, 4]);
    expect(d.dims).toEqual(['component', 'batch', 'pos']);
    expect(d.labels).toEqual(['embed', 'pos_embed', '0_attn_out']);
    expect(g.slice(d, 0, [2, 0]).labels).toEqual(['0_attn_out', 'embed']);
    expect(g.slice(d, 0, 1).labels).toBeUndefined();
    expect(g.slice(d, 2, -1).shape).toEqual([3, 2]);
    const c = g.concat([s, g.slice(s, 0, { stop: 1 })]);
    expect(c.labels).toEqual(['embed', 'pos_embed', '0_attn_out', 'embed']);
  });

  it('infers head results and neuron results', () => {
    const z = x([2, 4, 3, 5], ['batch', 'pos', 'head_index', 'd_head']);
    const W_O = x([3, 5, 7], ['head_index', 'd_head', 'd_model']);
    const head = g.einsum('...hd,hdm->...hm', z, W_O);
    expect(head.shape).toEqual([2, 4, 3, 7]);
    expect(head.dims).toEqual(['batch', 'pos', 'head_index', 'd_model']);
    const post = x([2, 4, 6], ['batch', 'pos', 'd_mlp']);
    const W_out = x([6, 7], ['d_mlp', 'd_model']);
    const neurons = g.mul(g.reshape(post, [2, 4, 6, 1]), W_out);
    expect(neurons.shape).toEqual([2, 4, 6, 7]);
    expect(neurons.dims).toEqual(['batch', 'pos', 'd_mlp', 'd_model']);
  });

  it('folds trivial reshapes, transposes and slices', () => {
    const a = x([2, 3]);
    expect(g.reshape(g.reshape(a, [3, 2]), [2, 3])).toBe(a);
    expect(g.transpose(a, [0, 1])).toBe(a);
    expect(g.slice(a, 1, null)).toBe(a);
    expect(g.concat([a])).toBe(a);
    expect(g.reshape(a, [-1]).shape).toEqual([6]);
  });

  it('throws at build time naming the op, both shapes and the dim', () => {
    const a = x([2, 3]);
    const b = x([2, 4]);
    expect(() => g.add(a, b)).toThrow(ShapeError);
    expect(() => g.add(a, b)).toThrow(
      'add: given shapes [2, 3] and [2, 4], expected equal or broadcastable sizes at dim -1 (3 vs 4).',
    );
    expect(() => g.dot(a, x([4]))).toThrow(
      'dot: given shapes [2, 3] and [4], expected equal sizes at dim -1 (3 vs 4).',
    );
    expect(() => g.einsum('hd,hdm->hm', x([3, 5]), x([4, 5, 7]))).toThrow(/letter 'h' \(3 vs 4\)/);
    expect(() => g.scale(a, x([4, 2, 3]))).toThrow(/expected the scale to broadcast to x without growing it/);
    expect(() => g.reshape(a, [4])).toThrow(/expected the same number of elements \(6 vs 4\)/);
    expect(() => g.transpose(a, [0, 0])).toThrow(/expected a permutation/);
    expect(() => g.sum(a, 2)).toThrow(/given axis 2 for shape \[2, 3\]/);
    expect(() => g.leaf('bad', src, { shape: [2], dims: ['a', 'b'] })).toThrow(/given 2 dim names/);
  });

  it('rejects a stack of inputs with different shapes', () => {
    expect(() => g.stack([x([2, 3]), x([2, 4])])).toThrow(
      'stack: given input 1 of shape [2, 4] and input 0 of shape [2, 3], expected equal shapes (dim 1 differs).',
    );
    expect(() => g.stack([])).toThrow(/no inputs and no element shape/);
    expect(g.stack([], { element: { shape: [2, 3] } }).shape).toEqual([0, 2, 3]);
    expect(() => g.stack([x([2])], { labels: ['a', 'b'] })).toThrow(/given 2 labels, expected 1/);
    expect(() => g.concat([x([2, 3]), x([2, 4])])).toThrow(
      /expected equal sizes except on axis 0 \(dim 1 differs\)/,
    );
  });

  it('rejects a slice out of range at build time', () => {
    expect(() => g.slice(x([2, 3]), 1, 3)).toThrow(SliceError);
    expect(() => g.slice(x([2, 3]), 1, [0, 7])).toThrow(/given 7 for a dimension of length 3/);
  });

  it('makes const nodes from borrowed tensors and numbers', () => {
    const t = tf.ones([2, 2]);
    try {
      expect(g.constant(t)).toBe(g.constant(t));
      expect(g.constant(t).shape).toEqual([2, 2]);
      expect(g.constant(2).shape).toEqual([]);
    } finally {
      t.dispose();
    }
  });
});
