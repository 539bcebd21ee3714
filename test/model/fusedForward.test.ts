// The whole forward with the fused WebGPU kernels (nothing observed) against the same forward
// with them off and against runWithCache (everything observed, so nothing fuses), on every family
// fixture (grouped K/V, rotary, ALiBi, Gemma 2's soft cap and local window, parallel blocks), with
// a left-padded batch so masked rows and all-padding queries are exercised. On wasm both paths
// are the composition; on webgpu this is the check that fusing changed nothing.
import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import { setFusedKernels } from '../../src/backend/kernels/index.js';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends, WASM_AND_WEBGPU } from '../helpers/backends.js';
import { FAMILIES, familyFolder } from '../helpers/familyGolden.js';
import { maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-5;
const IDS = [
  [0, 0, 0, 5, 9, 17, 3],
  [4, 8, 15, 16, 23, 42, 7],
];
const MASK = [
  [0, 0, 0, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
];

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
        expect(await maxAbsDiff(fused, composed)).toBeLessThan(TOL);
        expect(await maxAbsDiff(fused, observed)).toBeLessThan(TOL);
        const values = await fused.data();
        expect(values.every(Number.isFinite)).toBe(true);
        tf.dispose([fused, composed, observed]);
        model.dispose();
      });
    }
  },
  WASM_AND_WEBGPU,
);
