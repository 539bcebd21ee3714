// Attention's products as strided BLAS products on wasm (src/backend/kernels/blasAttention.ts)
// against the plain composition (batched matMuls with transposes): scores, pattern, z and the
// gradients for every form the kernel tests share (grouped keys, cached keys, padding, windows,
// soft caps, ALiBi, scales that are not powers of two). Skipped where no BLAS loads.
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attentionCoreComposition, type AttentionSpec } from '../../src/backend/kernels/attentionCore.js';
import { blasAttentionOn } from '../../src/backend/kernels/blasAttention.js';
import { nativeBlasReport } from '../../src/backend/nativeBlas.js';
import { setFusedKernels } from '../../src/backend/kernels/webgpuProgram.js';
import { selectBackend } from '../../src/backend/index.js';
import { ATTENTION_CASES, type AttentionCase } from '../helpers/attentionCases.js';
import { maxRelDiff } from '../helpers/blas.js';

const skipReason = nativeBlasReport().library ? null : nativeBlasReport().reason;

/** z, scores and pattern of the composition, with the strided form on or off. */
function run(c: AttentionCase, strided: boolean, seed: number): { values: tf.Tensor[]; used: boolean } {
  setFusedKernels(strided);
  const used = blasAttentionOn();
  const values = tf.tidy(() => {
    const q = tf.randomNormal([c.b, c.qLen, c.h, c.dh], 0, 1, 'float32', seed);
    const k = tf.randomNormal([c.b, c.kLen, c.g, c.dh], 0, 1, 'float32', seed + 1);
    const v = tf.randomNormal([c.b, c.kLen, c.g, c.dh], 0, 1, 'float32', seed + 2);
    const spec: AttentionSpec = { ...c.spec, padMask: c.pad && tf.tensor2d(c.pad) };
    const seen: tf.Tensor[] = [];
    const keep = (t: tf.Tensor) => (seen.push(t), t);
    const z = attentionCoreComposition(q, k, v, spec, { scores: keep, pattern: keep });
    return [z, ...seen];
  });
  return { values, used };
}

describe('attention products as strided BLAS products on wasm', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });
  afterEach(() => setFusedKernels(true));

  for (const [i, c] of ATTENTION_CASES.entries()) {
    it.skipIf(skipReason !== null)(`${c.name}: z, scores and pattern equal the plain form`, async () => {
      const strided = run(c, true, 10 * i + 1);
      const plain = run(c, false, 10 * i + 1);
      expect(strided.used).toBe(true);
      expect(plain.used).toBe(false);
      for (const [j, t] of strided.values.entries()) {
        expect(t.shape).toEqual(plain.values[j].shape);
        const [a, b] = [await t.data(), await plain.values[j].data()];
        // Masked scores are −∞ in both; compare the finite ones.
        expect(Array.from(a).map((x) => Number.isFinite(x))).toEqual(
          Array.from(b).map((x) => Number.isFinite(x)),
        );
        const finite = (xs: ArrayLike<number>) => Array.from(xs).filter((x) => Number.isFinite(x));
        expect(maxRelDiff(finite(a), finite(b))).toBeLessThan(1e-5);
      }
      tf.dispose([...strided.values, ...plain.values]);
    });
  }

  for (const [i, c] of ATTENTION_CASES.entries()) {
    it.skipIf(skipReason !== null)(`${c.name}: gradients equal the plain form's`, async () => {
      const q = tf.randomNormal([c.b, c.qLen, c.h, c.dh], 0, 1, 'float32', 10 * i + 1);
      const k = tf.randomNormal([c.b, c.kLen, c.g, c.dh], 0, 1, 'float32', 10 * i + 2);
      const v = tf.randomNormal([c.b, c.kLen, c.g, c.dh], 0, 1, 'float32', 10 * i + 3);
      const w = tf.randomNormal([c.b, c.qLen, c.h, c.dh], 0, 1, 'float32', 10 * i + 4);
      const padMask = c.pad && tf.tensor2d(c.pad);
      let usedUnderTape: boolean | undefined;
      const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => {
        usedUnderTape = blasAttentionOn();
        return tf.sum(tf.mul(attentionCoreComposition(x, y, z, { ...c.spec, padMask }), w));
      };
      const strided = tf.grads(f)([q, k, v]);
      expect(usedUnderTape).toBe(true);
      setFusedKernels(false);
      const plain = tf.grads(f)([q, k, v]);
      expect(usedUnderTape).toBe(false);
      for (const [j, t] of strided.entries()) {
        expect(t.shape).toEqual(plain[j].shape);
        expect(maxRelDiff(await t.data(), await plain[j].data())).toBeLessThan(1e-5);
      }
      tf.dispose([q, k, v, w, ...(padMask ? [padMask] : []), ...strided, ...plain]);
    });
  }
});
