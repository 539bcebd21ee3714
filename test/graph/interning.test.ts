// Interning must not hold memory in a tight await loop. Each turn below builds an analysis-sized
// graph over a fresh cache-like source and a long-lived weights source, materializes it and disposes
// the source, 1,500 times without yielding to a macrotask. Nodes interned through WeakRefs stay alive
// until the turn ends (a WeakRef keeps its target for the rest of the job), so the heap would grow
// with every turn; interned nodes must instead go with the source they depend on.
import * as tf from '@tensorflow/tfjs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import { Lazy, Memo, TensorSource } from '../../graph/index.js';

/** A full garbage collection, from the flag when node runs with --expose-gc, else enabled for this test. */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const [B, P, D, H, DH, M, V] = [1, 3, 8, 4, 2, 16, 10];
const LAYERS = 2;

/** Model weights: live for the whole loop, like a loaded model's. */
function weights(): TensorSource {
  const w = new TensorSource('model weights', [], true);
  w.set('W_U', tf.randomNormal([D, V]));
  for (let l = 0; l < LAYERS; l++) {
    w.set(`blocks.${l}.attn.W_O`, tf.randomNormal([H, DH, D]));
    w.set(`blocks.${l}.mlp.W_out`, tf.randomNormal([M, D]));
  }
  return w;
}

/** One run's activations, in a source of their own (a cache). */
function run(): TensorSource {
  const c = new TensorSource('cache', [], true);
  c.set('hook_embed', tf.randomNormal([B, P, D]));
  c.set('ln_final.hook_scale', tf.randomUniform([B, P, 1], 0.5, 1.5));
  for (let l = 0; l < LAYERS; l++) {
    c.set(`blocks.${l}.attn.hook_z`, tf.randomNormal([B, P, H, DH]));
    c.set(`blocks.${l}.mlp.hook_post`, tf.randomNormal([B, P, M]));
    c.set(`blocks.${l}.hook_attn_out`, tf.randomNormal([B, P, D]));
  }
  return c;
}

/** Per-head, per-neuron and per-layer logit attribution of one token, memoized per run. */
function attribution(c: TensorSource, w: TensorSource, memo: Memo, token: number): Lazy {
  const dims = ['batch', 'pos', 'd_model'];
  const parts: g.Node[] = [c.leaf('hook_embed', dims)];
  const labels = ['embed'];
  for (let l = 0; l < LAYERS; l++) {
    const z = c.leaf(`blocks.${l}.attn.hook_z`, ['batch', 'pos', 'head_index', 'd_head']);
    const heads = g.einsum('bphd,hdm->hbpm', z, w.leaf(`blocks.${l}.attn.W_O`));
    const post = c.leaf(`blocks.${l}.mlp.hook_post`);
    const neurons = g.mul(g.reshape(post, [B, P, M, 1]), w.leaf(`blocks.${l}.mlp.W_out`));
    const perNeuron = g.transpose(neurons, [2, 0, 1, 3]);
    for (let h = 0; h < H; h++) parts.push(g.slice(g.memo(heads, memo), 0, h));
    for (let n = 0; n < M; n += 4) parts.push(g.slice(perNeuron, 0, n));
    parts.push(c.leaf(`blocks.${l}.hook_attn_out`, dims));
    labels.push(
      ...Array.from({ length: H }, (_, h) => `L${l}H${h}`),
      'N0',
      'N8',
      'N16',
      'N24',
      `${l}_attn_out`,
    );
  }
  const stack = new Lazy(g.stack(parts, { labels }));
  const dir = new Lazy(w.leaf('W_U')).slice(1, token);
  return stack.applyLn(new Lazy(c.leaf('ln_final.hook_scale'))).dot(dir);
}

describe('interning', () => {
  // Generous timeout: 1,500 materializations on a shared machine.
  it('keeps the heap flat over 1,500 analyses in a tight await loop', { timeout: 240_000 }, async () => {
    const gc = fullGc();
    const w = weights();
    const heap: number[] = [];
    try {
      for (let i = 0; i < 1500; i++) {
        const c = run();
        const memo = new Memo('cache');
        try {
          const values = (await attribution(c, w, memo, i % V).array()) as number[][][];
          expect(values.length).toBe(1 + LAYERS * (H + 5));
        } finally {
          memo.dispose();
          c.dispose();
        }
        if (i === 199 || i === 1499) {
          gc();
          heap.push(process.memoryUsage().heapUsed);
        }
      }
    } finally {
      w.dispose();
    }
    const grownMiB = (heap[1] - heap[0]) / 2 ** 20;
    // A turn interns a few hundred nodes (~0.2 MiB); 1,300 turns kept alive would be hundreds of MiB.
    expect(grownMiB, 'heap growth from turn 200 to turn 1,500, MiB').toBeLessThan(16);
  });

  it('still returns the same object for a node rebuilt while its graph is alive, across a collection', () => {
    const gc = fullGc();
    const t = tf.ones([3]);
    const s = new TensorSource('weights', [['w', t]], true);
    try {
      const held = g.dot(g.center(s.leaf('w')), g.constant(t));
      const two = g.constant(2);
      const over = g.mul(held, two);
      gc();
      expect(g.dot(g.center(s.leaf('w')), g.constant(t))).toBe(held);
      expect(g.constant(2)).toBe(two);
      expect(g.mul(g.dot(g.center(s.leaf('w')), g.constant(t)), g.constant(2))).toBe(over);
      expect(g.stack([], { element: { shape: [2] } })).toBe(g.stack([], { element: { shape: [2] } }));
    } finally {
      s.dispose();
    }
  });
});
