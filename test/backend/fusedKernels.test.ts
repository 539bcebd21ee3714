// The fused WebGPU kernels against their tfjs compositions (on webgpu: llvmpipe where there is no
// GPU), and the compositions against the forward's former attention (repeated K/V heads, a mask
// broadcast to the scores' shape, `where`), so the rewrite kept every value.
import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import {
  activationComposition,
  attentionCore,
  attentionCoreComposition,
  biasActivation,
  gatedActivation,
  normalizeComposition,
  normalizeCore,
  setFusedKernels,
  useFusedKernel,
  type AttentionSpec,
  type NormKind,
} from '../../src/backend/kernels/index.js';
import { ATTENTION_CASES as CASES } from '../helpers/attentionCases.js';
import { describeBackends, WITH_WEBGPU } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-5;

function randn(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale));
}

/** The attention the forward ran before: K/V heads repeated, the mask broadcast, `where`. */
function formerAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, spec: AttentionSpec): tf.Tensor {
  return tf.tidy(() => {
    const [b, qLen, h] = q.shape;
    const [, kLen, g] = k.shape;
    const groupOf = tf.tensor1d(
      Array.from({ length: h }, (_, i) => Math.floor(i / (h / g))),
      'int32',
    );
    const kr = tf.gather(k, groupOf, 2);
    const vr = tf.gather(v, groupOf, 2);
    let scores = tf.matMul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(kr, [0, 2, 3, 1]));
    if (spec.scale !== 1) scores = tf.div(scores, spec.scale);
    if (spec.softCap > 0) scores = tf.mul(tf.tanh(tf.div(scores, spec.softCap)), spec.softCap);
    const offset = kLen - qLen;
    const allowed = new Uint8Array(qLen * kLen);
    const bias = new Float32Array(h * qLen * kLen);
    for (let i = 0; i < qLen; i++) {
      for (let j = 0; j <= i + offset; j++) {
        if (spec.window === undefined || i + offset - j < spec.window) allowed[i * kLen + j] = 1;
        for (let hi = 0; hi < h; hi++) {
          bias[(hi * qLen + i) * kLen + j] = (spec.alibiSlopes?.[hi] ?? 0) * (j - i - offset);
        }
      }
    }
    if (spec.alibiSlopes) scores = tf.add(scores, tf.tensor(bias, [1, h, qLen, kLen]));
    let mask = tf.tensor(allowed, [1, 1, qLen, kLen], 'bool');
    if (spec.padMask) {
      mask = tf.logicalAnd(mask, tf.cast(tf.reshape(spec.padMask, [b, 1, 1, kLen]), 'bool'));
    }
    const full = tf.broadcastTo(mask, scores.shape);
    scores = tf.where(full, scores, tf.fill(scores.shape, -Infinity));
    const pattern = tf.where(full, tf.softmax(scores), tf.zerosLike(scores));
    return tf.transpose(tf.matMul(pattern, tf.transpose(vr, [0, 2, 1, 3])), [0, 2, 1, 3]);
  });
}

describeBackends(
  'fused kernels agree with their compositions',
  (backend) => {
    afterAll(() => setFusedKernels(true));

    it(`the fused path is ${backend === 'webgpu' ? 'on' : 'off'} here`, () => {
      expect(useFusedKernel()).toBe(backend === 'webgpu');
    });

    for (const c of CASES) {
      it(`attention: ${c.name}`, async () => {
        const q = randn([c.b, c.qLen, c.h, c.dh], 1, 2);
        const k = randn([c.b, c.kLen, c.g, c.dh], 2, 2);
        const v = randn([c.b, c.kLen, c.g, c.dh], 3);
        const padMask = c.pad ? tf.tensor(c.pad, [c.b, c.kLen], 'int32') : undefined;
        const spec: AttentionSpec = { ...c.spec, padMask };
        const fused = tf.tidy(() => attentionCore(q, k, v, spec));
        const composed = tf.tidy(() => attentionCoreComposition(q, k, v, spec));
        const former = formerAttention(q, k, v, spec);
        expect(fused.shape).toEqual([c.b, c.qLen, c.h, c.dh]);
        expect(await maxAbsDiff(fused, composed)).toBeLessThan(TOL);
        expect(await maxAbsDiff(composed, former)).toBeLessThan(TOL);
        if (c.pad) {
          // A query that sees only padding gives exactly zero.
          const z = (await fused.array()) as number[][][][];
          c.pad.forEach((row, bi) => {
            const offset = c.kLen - c.qLen;
            for (let qi = 0; qi < c.qLen; qi++) {
              if (row.slice(0, qi + offset + 1).every((x) => x === 0)) {
                expect(z[bi][qi].flat().every((x) => x === 0)).toBe(true);
              }
            }
          });
        }
        tf.dispose([q, k, v, padMask, fused, composed, former]);
      });
    }

    it('attention hooks see the masked scores and the pattern, with zero rows for padding', async () => {
      const q = randn([1, 3, 2, 4], 4);
      const k = randn([1, 3, 2, 4], 5);
      const v = randn([1, 3, 2, 4], 6);
      const padMask = tf.tensor([[0, 1, 1]], [1, 3], 'int32');
      const kept: tf.Tensor[] = [];
      const z = tf.tidy(() =>
        attentionCoreComposition(
          q,
          k,
          v,
          { scale: 1, softCap: 0, padMask },
          {
            scores: (s) => (kept.push(tf.keep(s)), s),
            pattern: (p) => (kept.push(tf.keep(p)), p),
          },
        ),
      );
      const [scores, pattern] = (await Promise.all(kept.map((t) => t.array()))) as number[][][][][];
      expect(scores[0][0][0]).toEqual([-Infinity, -Infinity, -Infinity]);
      expect(scores[0][1][1][2]).toBe(-Infinity);
      expect(pattern[0][0][0]).toEqual([0, 0, 0]);
      expect(pattern[0][1][1][0]).toBe(0);
      expect(pattern[0][1][1][1]).toBeCloseTo(1, 6);
      tf.dispose([q, k, v, padMask, z, ...kept]);
    });

    for (const kind of ['LN', 'LNPre', 'RMS', 'RMSPre'] as NormKind[]) {
      for (const d of [48, 300]) {
        it(`${kind} norm over ${d} features`, async () => {
          const x = tf.tidy(() => tf.add(randn([2, 5, d], 7, 3), 1.5));
          const w = kind === 'LN' || kind === 'RMS' ? randn([d], 8) : undefined;
          const b = kind === 'LN' ? randn([d], 9) : undefined;
          const spec = { kind, eps: 1e-5, w, b };
          const fused = tf.tidy(() => normalizeCore(x, spec));
          const composed = tf.tidy(() => normalizeComposition(x, spec));
          expect(await maxAbsDiff(fused, composed)).toBeLessThan(TOL);
          tf.dispose([x, w, b, fused, composed]);
        });
      }
    }

    for (const fn of ['gelu_new', 'gelu_fast', 'gelu', 'relu', 'silu'] as const) {
      it(`${fn}: bias + activation, plain and gated`, async () => {
        const x = randn([2, 3, 40], 10, 4);
        const up = randn([2, 3, 40], 11);
        const bias = randn([40], 12);
        const checks: [tf.Tensor, tf.Tensor][] = [
          [
            tf.tidy(() => biasActivation(x, fn, bias)),
            tf.tidy(() => activationComposition(tf.add(x, bias), fn)),
          ],
          [tf.tidy(() => biasActivation(x, fn)), tf.tidy(() => activationComposition(x, fn))],
          [
            tf.tidy(() => gatedActivation(x, up, fn, bias)),
            tf.tidy(() => tf.add(tf.mul(activationComposition(x, fn), up), bias)),
          ],
        ];
        for (const [fused, composed] of checks) {
          expect(await maxAbsDiff(fused, composed)).toBeLessThan(TOL);
        }
        tf.dispose([x, up, bias, ...checks.flat()]);
      });
    }

    it('with fused kernels off, the composition runs (no custom kernel in the profile)', async () => {
      const q = randn([1, 4, 2, 8], 13);
      // tf.profile hands back one shared record, so each run's kernels are read before the next.
      const run = async (fused: boolean): Promise<string[]> => {
        setFusedKernels(fused);
        const info = await tf.profile(() => tf.tidy(() => attentionCore(q, q, q, { scale: 1, softCap: 0 })));
        tf.dispose(info.result);
        return info.kernels.map((kk) => kk.name);
      };
      const off = await run(false);
      const on = await run(true);
      expect(off).not.toContain('LazylensAttentionCore');
      expect(on.includes('LazylensAttentionCore')).toBe(backend === 'webgpu');
      if (backend === 'webgpu') expect(on).toHaveLength(1);
      tf.dispose(q);
    });
  },
  WITH_WEBGPU,
);
