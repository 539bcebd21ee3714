// Matrix products split to a forced per-binding limit give exactly the unsplit product, on every
// backend (webgpu included where an adapter exists), through the executor and through the model.
// One exception: a model's split forward on wasm with a BLAS library agrees to float32 rounding,
// not bit for bit, because BLAS may round a row differently in a product of another size.
import * as tf from '@tensorflow/tfjs';
import { afterEach, expect, it } from 'vitest';
import {
  chunkedMatMul,
  deviceBindingLimit,
  execute,
  leaf,
  ResourceLimitError,
  setDeviceBindingLimit,
  setPlanningLimit,
  functionSource,
} from '../../graph/index.js';
import { blasMatMulActive } from '../../src/backend/kernels/blasMatMul.js';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends, WITH_WEBGPU } from '../helpers/backends.js';
import { maxRelDiff } from '../helpers/blas.js';

const data = async (t: tf.Tensor): Promise<number[]> => Array.from(await t.data());

/** `actual` equals `expected` bit for bit, or within float32 rounding when `rounded`. */
function expectSame(actual: number[], expected: number[], rounded: boolean): void {
  if (!rounded) return void expect(actual).toEqual(expected);
  expect(actual.length).toBe(expected.length);
  expect(maxRelDiff(actual, expected)).toBeLessThan(1e-5);
}

/** Values whose products are exact in float32, so any summation order gives the same bits. */
function ints(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, (_, i) => ((i * 7 + seed * 13) % 9) - 4),
    shape,
  );
}

describeBackends(
  'chunkedMatMul under a forced binding limit',
  (backend) => {
    afterEach(() => setPlanningLimit(undefined));

    it('splits rows, columns and batches and gives the unsplit product exactly', async () => {
      const cases: [number[], number[]][] = [
        [
          [37, 24],
          [24, 53],
        ],
        [
          [3, 11, 24],
          [24, 29],
        ],
        [
          [4, 9, 16],
          [4, 16, 21],
        ],
        [
          [5, 16],
          [16, 1],
        ],
      ];
      for (const [sa, sb] of cases) {
        const a = ints(sa, 1);
        const b = ints(sb, 2);
        const want = tf.matMul(a, b);
        for (const limit of [4 * 24, 4 * 100]) {
          setPlanningLimit(limit);
          const got = tf.tidy(() => chunkedMatMul(a, b));
          expect(got.shape).toEqual(want.shape);
          expect(await data(got)).toEqual(await data(want));
          got.dispose();
        }
        setPlanningLimit(undefined);
        tf.dispose([a, b, want]);
      }
    });

    it('multiplies a batch by a shared matrix as one unbatched matMul of its rows', async () => {
      const [a, b] = [ints([3, 5, 4], 1), ints([4, 6], 2)];
      const profile = await tf.profile(() => tf.tidy(() => chunkedMatMul(a, b)));
      const out = profile.result as tf.Tensor;
      // wasm sends only unbatched products to XNNPACK; a batched one is a scalar loop there.
      expect(profile.kernels.filter((k) => k.name === 'BatchMatMul').map((k) => k.inputShapes)).toEqual([
        [
          [15, 4],
          [4, 6],
        ],
      ]);
      expect(out.shape).toEqual([3, 5, 6]);
      const want = tf.matMul(a, b);
      expect(await data(out)).toEqual(await data(want));
      tf.dispose([a, b, out, want]);
    });

    it('matches the unsplit product on random floats to float32 rounding', async () => {
      const a = tf.randomNormal([40, 64], 0, 1, 'float32', 7);
      const b = tf.randomNormal([64, 90], 0, 1, 'float32', 8);
      const product = tf.matMul(a, b);
      const want = await data(product);
      product.dispose();
      setPlanningLimit(4 * 64 * 8);
      const got = tf.tidy(() => chunkedMatMul(a, b));
      const g = await data(got);
      // The contracted axis is never split, so each element is the same dot product.
      const worst = g.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0);
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([a, b, got]);
    });

    it('refuses a row longer than the limit with the limit in the message', () => {
      const a = tf.zeros([2, 64]);
      const b = tf.zeros([64, 3]);
      setPlanningLimit(4 * 32);
      expect(() => tf.tidy(() => chunkedMatMul(a, b))).toThrow(ResourceLimitError);
      expect(() => tf.tidy(() => chunkedMatMul(a, b))).toThrow(
        /one row of a of shape \[1, 64\].*at most 128 bytes/,
      );
      tf.dispose([a, b]);
    });

    it('refuses a graph value, a matMul result or a weight above the device limit, naming it', async () => {
      const device = deviceBindingLimit();
      const x = tf.ones([4, 64]);
      const model = HookedTransformer.fromConfig(
        { nLayers: 1, dModel: 16, dHead: 4, nCtx: 8, dVocab: 100 },
        { seed: 1 },
      );
      try {
        // What webgpu with a 1000-byte maxStorageBufferBindingSize would report.
        setDeviceBindingLimit(1000);
        const node = leaf(
          'x',
          functionSource('test', () => x),
          { shape: [4, 64] },
        );
        expect(() => execute(node)).toThrow(ResourceLimitError);
        expect(() => execute(node)).toThrow(/leaf of shape \[4, 64\] is 1024 bytes/);
        setPlanningLimit(512);
        const y = tf.ones([4, 512]);
        expect(() => tf.tidy(() => chunkedMatMul(x, y))).toThrow(/the result \[4, 512\] is 8192 bytes/);
        y.dispose();
        await expect(model.forward([[1, 2, 3]])).rejects.toThrow(
          /Parameter '.*' \[.*\] is \d+ bytes; expected at most the 1000 bytes/,
        );
      } finally {
        setDeviceBindingLimit(device);
        model.dispose();
        x.dispose();
      }
    });

    it('gives a model the same logits and cache with its matMuls split', async () => {
      const model = HookedTransformer.fromConfig(
        { nLayers: 2, dModel: 32, dHead: 8, nHeads: 4, dMlp: 64, nCtx: 16, dVocab: 300, actFn: 'gelu' },
        { seed: 5 },
      );
      const tokens = [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9, 10, 11, 12],
      ];
      const whole = await model.runWithCache(tokens);
      const wholeDla = whole.cache.logitAttrs(
        whole.cache.getFullResidDecomposition({ posSlice: -1 }),
        [3, 4],
        {
          posSlice: -1,
        },
      );
      const wantDla = await wholeDla.data();
      // 4 KiB: the unembedding [32, 300] (37.5 KiB) and the logits [12, 300] must both be split.
      setPlanningLimit(4096);
      const split = await model.runWithCache(tokens);
      const rounded = backend === 'wasm' && blasMatMulActive();
      try {
        expectSame(await data(split.logits), await data(whole.logits), rounded);
        for (const name of ['blocks.1.hook_mlp_out', 'blocks.0.attn.hook_z', 'ln_final.hook_scale']) {
          expectSame(await data(split.cache.get(name)), await data(whole.cache.get(name)), rounded);
        }
        const splitDla = split.cache.logitAttrs(
          split.cache.getFullResidDecomposition({ posSlice: -1 }),
          [3, 4],
          {
            posSlice: -1,
          },
        );
        expectSame(Array.from(await splitDla.data()), Array.from(wantDla), rounded);
      } finally {
        for (const r of [whole, split]) {
          r.logits.dispose();
          r.cache.dispose();
        }
        model.dispose();
      }
    });
  },
  WITH_WEBGPU,
);
