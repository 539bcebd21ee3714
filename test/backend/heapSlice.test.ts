// wasm's slice as copies of contiguous runs within the heap (src/backend/kernels/heapSlice.ts)
// against the cpu backend and tfjs's own wasm kernel: every rank, runs that join whole trailing
// dimensions or are single elements, sizes of -1, the dtypes wasm holds, empty slices, gradients.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { heapSliceKernel } from '../../src/backend/kernels/heapSlice.js';
import { selectBackend } from '../../src/backend/index.js';
import { expectLikeCpuAndTfjs, testTensor } from '../helpers/wasmKernels.js';

describe('slice on wasm as heap run copies', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });

  it('is in place once wasm has started', () => {
    expect(heapSliceKernel.active).toBe(true);
  });

  // [x shape, dtype, begin, size]
  const cases: [number[], tf.DataType, number[], number[]][] = [
    [[40], 'float32', [3], [30]],
    [[12, 50], 'float32', [2, 0], [5, 50]], // whole rows: one run
    [[12, 50], 'float32', [0, 7], [12, 1]], // a column: single elements
    [[12, 50], 'float32', [3, 10], [4, -1]], // -1: to the end
    [[4, 6, 30], 'float32', [1, 2, 0], [2, 3, 30]], // whole last dim joins the run
    [[4, 6, 30], 'float32', [1, 0, 0], [2, 6, 30]], // two whole dims join
    [[4, 6, 30], 'float32', [0, 1, 5], [4, 4, 20]],
    [[3, 4, 5, 6], 'float32', [1, 1, 1, 1], [2, 2, 3, 4]],
    [[2, 3, 2, 3, 4], 'float32', [1, 0, 1, 1, 0], [1, 3, 1, 2, 4]], // rank 5
    [[2, 3, 2, 3, 4], 'float32', [0, 1, 0, 0, 2], [2, 2, 2, 3, 1]],
    [[9, 20], 'int32', [2, 3], [5, 10]],
    [[9, 20], 'bool', [2, 3], [5, 10]],
    [[9, 20], 'bool', [0, 3], [9, 1]],
    [[9, 20], 'float32', [4, 5], [0, 3]], // empty
  ];
  for (const [shape, dtype, begin, size] of cases) {
    it(`[${shape.join(', ')}] ${dtype} from [${begin.join(', ')}], size [${size.join(', ')}]`, async () => {
      const x = testTensor(shape, dtype);
      await expectLikeCpuAndTfjs(heapSliceKernel, (t) => tf.slice(t, begin, size), [x]);
      x.dispose();
    });
  }

  it('copies NaN and infinities bit for bit', async () => {
    const bits = new Int32Array([0x7fc00001, 0x7f800000, -0x800000, 0x3f800000]);
    const x = tf.tensor(new Float32Array(bits.buffer), [2, 2]);
    const y = tf.slice(x, [0, 0], [2, 1]);
    const out = new Int32Array((await y.data<'float32'>()).buffer.slice(0));
    expect(Array.from(out)).toEqual([0x7fc00001, -0x800000]);
    tf.dispose([x, y]);
  });

  it('is differentiable: the gradient pads back to the input', async () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [0, 1], [2, 2]), 2)))(x);
    expect(Array.from(await g.data())).toEqual([0, 2, 2, 0, 2, 2]);
    tf.dispose([x, g]);
  });

  it('a slice outside the input is the cpu backend’s error (tfjs’s wasm kernel reads past it)', () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([4, 8]);
    expect(() => tf.slice(x, [3, 0], [2, 8])).toThrow(
      'begin[0] + size[0] (5) would overflow input.shape[0] (4)',
    );
    expect(() => tf.slice(x, [-1, 0], [1, 8])).toThrow('does not support negative');
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
