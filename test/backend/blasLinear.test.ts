// The forward's dense layers as one BLAS kernel on wasm (src/backend/kernels/blasLinear.ts)
// against the plain composition (reshape, matMul, reshape, bias add): the shapes the forward
// gives it (rows to d_model, to heads, from heads through W_O), with and without a bias, a result
// that grows the heap, non-finite biases, gradients, and where it stands aside. Skipped where no
// BLAS loads.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blasLinear } from '../../src/backend/kernels/blasLinear.js';
import { setFusedKernels } from '../../src/backend/kernels/webgpuProgram.js';
import { nativeBlasReport } from '../../src/backend/nativeBlas.js';
import { selectBackend } from '../../src/backend/index.js';
import { maxRelDiff } from '../helpers/blas.js';

const skipReason = nativeBlasReport().library ? null : nativeBlasReport().reason;

/** A case: x's shape, w's shape, the inner size, the output's shape and b's shape (or none). */
interface LinearCase {
  name: string;
  x: number[];
  w: number[];
  inner: number;
  out: number[];
  b?: number[];
}

const CASES: LinearCase[] = [
  { name: 'rows to d_model with a bias', x: [2, 5, 48], w: [48, 40], inner: 48, out: [2, 5, 40], b: [40] },
  { name: 'rows without a bias', x: [3, 7, 32], w: [32, 64], inner: 32, out: [3, 7, 64] },
  { name: 'to heads', x: [2, 5, 48], w: [48, 24], inner: 48, out: [2, 5, 4, 6], b: [4, 6] },
  { name: 'from heads through W_O', x: [2, 5, 4, 6], w: [4, 6, 48], inner: 24, out: [2, 5, 48], b: [48] },
  { name: 'one row block of 9 rows', x: [9, 30], w: [30, 17], inner: 30, out: [9, 17], b: [17] },
];

/** The plain ops' x · w + b for a case. */
function composition(x: tf.Tensor, w: tf.Tensor, c: LinearCase, b?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = w.size / c.inner;
    const y = tf.reshape(tf.matMul(tf.reshape(x, [-1, c.inner]), tf.reshape(w, [c.inner, n])), c.out);
    return b ? tf.add(y, b) : y; // b's shape is the output's trailing axes
  });
}

function inputs(c: LinearCase, seed: number): { x: tf.Tensor; w: tf.Tensor; b?: tf.Tensor } {
  return {
    x: tf.randomNormal(c.x, 0, 1, 'float32', seed),
    w: tf.randomNormal(c.w, 0, 1, 'float32', seed + 1),
    b: c.b && tf.randomNormal(c.b, 0, 1, 'float32', seed + 2),
  };
}

describe('dense layers as one BLAS kernel on wasm', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });
  afterEach(() => setFusedKernels(true));

  for (const [i, c] of CASES.entries()) {
    it.skipIf(skipReason !== null)(`${c.name}: equals the plain ops, in one kernel`, async () => {
      const { x, w, b } = inputs(c, 10 * i + 1);
      const run = await tf.profile(() => blasLinear(x, w, c.inner, c.out, b));
      const fused = run.result as tf.Tensor;
      expect(run.kernels.map((k) => k.name)).toEqual([b ? 'LazylensLinearBias' : 'LazylensLinear']);
      const plain = composition(x, w, c, b);
      expect(fused.shape).toEqual(c.out);
      expect(maxRelDiff(await fused.data(), await plain.data())).toBeLessThan(1e-5);
      tf.dispose([x, w, b, fused, plain]);
    });
  }

  for (const [i, c] of CASES.entries()) {
    it.skipIf(skipReason !== null)(`${c.name}: gradients equal the plain ops'`, async () => {
      const { x, w, b } = inputs(c, 10 * i + 3);
      const probe = tf.randomNormal(c.out, 0, 1, 'float32', 10 * i + 6);
      const args = b ? [x, w, b] : [x, w];
      const grads = (fused: boolean): tf.Tensor[] =>
        tf.grads((...t: tf.Tensor[]) => {
          const y = fused
            ? (blasLinear(t[0], t[1], c.inner, c.out, t[2]) as tf.Tensor)
            : composition(t[0], t[1], c, t[2]);
          return tf.sum(tf.mul(y, probe));
        })(args);
      const fused = grads(true);
      const plain = grads(false);
      for (const [j, g] of fused.entries()) {
        expect(g.shape).toEqual(args[j].shape);
        expect(maxRelDiff(await g.data(), await plain[j].data())).toBeLessThan(1e-5);
      }
      tf.dispose([x, w, b, probe, ...fused, ...plain]);
    });
  }

  it.skipIf(skipReason !== null)(
    'reads the heap after allocating (a result large enough to grow it)',
    async () => {
      const c: LinearCase = {
        name: 'large',
        x: [256, 512],
        w: [512, 8192],
        inner: 512,
        out: [256, 8192],
        b: [8192],
      };
      const { x, w, b } = inputs(c, 41);
      const fused = blasLinear(x, w, c.inner, c.out, b) as tf.Tensor;
      const plain = composition(x, w, c, b);
      expect(maxRelDiff(await fused.data(), await plain.data())).toBeLessThan(1e-4);
      tf.dispose([x, w, b, fused, plain]);
    },
  );

  it.skipIf(skipReason !== null)('a bias of ±∞ and NaN comes through as the plain add gives it', async () => {
    const x = tf.randomNormal([16, 64], 0, 1, 'float32', 51);
    const w = tf.randomNormal([64, 4], 0, 1, 'float32', 52);
    const b = tf.tensor1d([Infinity, -Infinity, NaN, 2]);
    const fused = blasLinear(x, w, 64, [16, 4], b) as tf.Tensor;
    expect(fused).toBeDefined();
    const values = Array.from(await fused.data());
    for (let r = 0; r < 16; r++) {
      expect(values.slice(4 * r, 4 * r + 3)).toEqual([Infinity, -Infinity, NaN]);
      expect(Number.isFinite(values[4 * r + 3])).toBe(true);
    }
    tf.dispose([x, w, b, fused]);
  });

  it.skipIf(skipReason !== null)('stands aside for a few rows, fused forms off, other dtypes', () => {
    const w = tf.randomNormal([48, 40], 0, 1, 'float32', 61);
    const few = tf.randomNormal([1, 4, 48], 0, 1, 'float32', 62);
    expect(blasLinear(few, w, 48, [1, 4, 40])).toBeUndefined(); // XNNPACK's kept packing wins
    const many = tf.randomNormal([1, 16, 48], 0, 1, 'float32', 63);
    setFusedKernels(false);
    expect(blasLinear(many, w, 48, [1, 16, 40])).toBeUndefined();
    setFusedKernels(true);
    const ints = tf.zeros([16, 48], 'int32');
    expect(blasLinear(ints, w, 48, [16, 40])).toBeUndefined();
    tf.dispose([w, few, many, ints]);
  });

  it.skipIf(skipReason !== null)('sizes that do not fit together are a bug it names', () => {
    const x = tf.zeros([16, 48]);
    const w = tf.zeros([48, 40]);
    expect(() => blasLinear(x, w, 48, [16, 41])).toThrow(/linear of x \[16, 48\] and w \[48, 40\] over 48/);
    const b = tf.zeros([39]);
    expect(() => blasLinear(x, w, 48, [16, 40], b)).toThrow(/bias of 39 values for 40 columns/);
    tf.dispose([x, w, b]);
  });

  it('stands aside on another backend', async () => {
    await selectBackend({ backend: 'cpu' });
    const x = tf.zeros([16, 48]);
    const w = tf.zeros([48, 40]);
    expect(blasLinear(x, w, 48, [16, 40])).toBeUndefined();
    tf.dispose([x, w]);
    await selectBackend({ backend: 'wasm' });
  });
});
