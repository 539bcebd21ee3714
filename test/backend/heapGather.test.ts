// wasm's gather as slice copies within the heap (src/backend/kernels/heapGather.ts) against the
// cpu backend and tfjs's own wasm kernel: every axis and batchDims form the model and the graph
// use, the dtypes wasm holds, short slices copied element by element, and tfjs's own errors.
// tfjs-backend-wasm 4.22's own kernel is wrong with batchDims > 0 (it reads the wrong rows, or
// out of bounds) and gives an empty input a flattened shape, so there only the cpu backend is
// the reference.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { heapGatherKernel } from '../../src/backend/kernels/heapGather.js';
import { selectBackend } from '../../src/backend/index.js';
import { expectLikeCpuAndTfjs, testTensor } from '../helpers/wasmKernels.js';

describe('gather on wasm as heap slice copies', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });

  it('is in place once wasm has started', () => {
    expect(heapGatherKernel.active).toBe(true);
  });

  // [x shape, dtype, indices, indices shape, axis, batchDims]
  const cases: [number[], tf.DataType, number[], number[], number, number][] = [
    [[50, 96], 'float32', [3, 0, 49, 3], [4], 0, 0], // embedding rows
    [[50, 96], 'float32', [3, 0, 49, 3, 7, 7], [2, 3], 0, 0], // [batch, pos] token ids
    [[4, 9, 33], 'float32', [8, 0, 5], [3], 1, 0], // positions of every row
    [[4, 9, 3, 5], 'float32', [8, 1], [2], 1, 0], // positions of [b, p, h, dh]
    [[6, 7], 'float32', [6, 0, 2], [3], 1, 0], // columns: one element per slice
    [[6, 7], 'float32', [1, 5, 0, 6, 2, 2], [6, 1], 1, 1], // one column per row (batchDims)
    [[3, 5, 4], 'float32', [4, 0, 1, 1, 2, 3], [3, 2], 1, 1],
    [[20], 'int32', [19, 0, 4], [3], 0, 0],
    [[5, 40], 'int32', [4, 4, 1], [3], 0, 0],
    [[5, 3], 'bool', [2, 0, 1], [3], 1, 0],
    [[5, 40], 'bool', [4, 1], [2], 0, 0],
    [[5, 40], 'float32', [], [0], 0, 0], // no indices
    [[0, 40], 'float32', [], [0], 0, 0], // an empty input
  ];
  for (const [shape, dtype, ids, idShape, axis, batchDims] of cases) {
    it(`[${shape.join(', ')}] ${dtype} at [${ids.join(', ')}] (shape [${idShape.join(', ')}]), axis ${axis}, batchDims ${batchDims}`, async () => {
      const x = testTensor(shape, dtype);
      const i = tf.tensor(ids, idShape, 'int32');
      const gather = (a: tf.Tensor, b: tf.Tensor) => tf.gather(a, b, axis, batchDims);
      await expectLikeCpuAndTfjs(heapGatherKernel, gather, [x, i], batchDims === 0 && x.size > 0);
      tf.dispose([x, i]);
    });
  }

  it('copies NaN and infinities bit for bit', async () => {
    const bits = new Int32Array([0x7fc00001, 0x7f800000, -0x800000, 0x3f800000]);
    const x = tf.tensor(new Float32Array(bits.buffer), [4, 1]);
    const i = tf.tensor1d([3, 0, 1, 2], 'int32');
    const y = tf.gather(x, i);
    const out = new Int32Array((await y.data<'float32'>()).buffer.slice(0));
    expect(Array.from(out)).toEqual([0x3f800000, 0x7fc00001, 0x7f800000, -0x800000]);
    tf.dispose([x, i, y]);
  });

  it('an index outside the axis is tfjs’s error, and nothing is left behind', () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([4, 8]);
    for (const bad of [4, -1]) {
      const i = tf.tensor1d([0, bad], 'int32');
      expect(() => tf.gather(x, i)).toThrow(`GatherV2: the index value ${bad} is not in [0, 3]`);
      i.dispose();
    }
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
