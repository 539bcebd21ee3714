// The whole forward with the fused WebGPU kernels (nothing observed) against the same forward
// with them off and against runWithCache (everything observed, so nothing fuses), on every family
// fixture (grouped K/V, rotary, ALiBi, Gemma 2's soft cap and local window, parallel blocks), with
// a left-padded batch so masked rows and all-padding queries are exercised. On wasm the fused
// paths are its SIMD activation and norm kernels and its strided attention products; on webgpu
// the WGSL kernels. This is the check that fusing changed nothing beyond float32 rounding.
import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import { setFusedKernels } from '../../src/backend/kernels/index.js';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends, WASM_AND_WEBGPU } from '../helpers/backends.js';
import { FAMILIES, familyFolder } from '../helpers/familyGolden.js';
import { maxAbsDiff } from '../helpers/golden.js';
import { LEFT_PADDED } from '../helpers/paddedBatches.js';

// Relative to the logits' largest magnitude (about 11 here): about 20 float32 ulps. The fused norms
// sum a row in four lanes, not in tfjs's order, so last bits differ (they are the nearer to a
// float64 norm), and that difference passes through every block.
const TOL_RELATIVE = 2e-6;
const { ids: IDS, mask: MASK } = LEFT_PADDED;

describeBackends(
  'the fused forward agrees with the composed one',
  () => {
    afterAll(() => setFusedKernels(true));
    for (const family of FAMILIES) {
      it(`${family}-tiny, left-padded batch`, async () => {
        const model = await HookedTransformer.fromPretrained(familyFolder(family));
        const opts = { attentionMask: MASK };
        setFusedKernels(true);
        const fused = await model.forward(IDS, opts);
        // Every hook observed (scores, pattern, scale, pre): the composed path on every backend.
        const { logits: observed, cache } = await model.runWithCache(IDS, opts);
        cache.dispose();
        setFusedKernels(false);
        const composed = await model.forward(IDS, opts);
        setFusedKernels(true);
        const peak = tf.tidy(() => tf.max(tf.abs(composed)));
        const tol = TOL_RELATIVE * Math.max(1, (await peak.data())[0]);
        peak.dispose();
        expect(await maxAbsDiff(fused, composed)).toBeLessThan(tol);
        expect(await maxAbsDiff(fused, observed)).toBeLessThan(tol);
        const values = await fused.data();
        expect(values.every(Number.isFinite)).toBe(true);
        tf.dispose([fused, composed, observed]);
        model.dispose();
      });
    }
  },
  WASM_AND_WEBGPU,
);
