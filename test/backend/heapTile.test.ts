// wasm's tile as block copies within the heap (src/backend/kernels/heapTile.ts) against the cpu
// backend and tfjs's own wasm kernel: repeats of every dimension, single-element rows, broadcasts,
// the dtypes wasm holds, empty results, and the gradient.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { heapTileKernel } from '../../src/backend/kernels/heapTile.js';
import { selectBackend } from '../../src/backend/index.js';
import { expectLikeCpuAndTfjs, testTensor } from '../helpers/wasmKernels.js';

describe('tile on wasm as heap block copies', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });

  it('is in place once wasm has started', () => {
    expect(heapTileKernel.active).toBe(true);
  });

  // [x shape, dtype, reps]
  const cases: [number[], tf.DataType, number[]][] = [
    [[5], 'float32', [3]],
    [[1, 1, 1, 12], 'float32', [1, 8, 7, 1]], // a bias broadcast over batch and positions
    [[7, 12], 'float32', [3, 1]],
    [[7, 1], 'float32', [1, 9]], // single-element rows repeated along the last dimension
    [[2, 3, 4], 'float32', [2, 3, 2]], // every dimension repeated
    [[2, 1, 3, 1, 2], 'float32', [1, 4, 1, 3, 2]],
    [[3, 5], 'int32', [2, 3]],
    [[3, 5], 'bool', [2, 3]],
    [[1, 1], 'bool', [4, 33]],
    [[3, 5], 'float32', [0, 2]], // empty
    [[0, 5], 'float32', [3, 2]], // empty input
  ];
  for (const [shape, dtype, reps] of cases) {
    it(`[${shape.join(', ')}] ${dtype} by [${reps.join(', ')}]`, async () => {
      const x = testTensor(shape, dtype);
      await expectLikeCpuAndTfjs(heapTileKernel, (t) => tf.tile(t, reps), [x]);
      x.dispose();
    });
  }

  it('broadcastTo goes through it', async () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.broadcastTo(x, [2, 2, 3]);
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    tf.dispose([x, y]);
  });

  it('is differentiable: the gradient sums the copies', async () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tile(t, [2, 3]), 2)))(x);
    expect(Array.from(await g.data())).toEqual([12, 12, 12, 12]);
    tf.dispose([x, g]);
  });
});
