// The shipped induction-2l model's known circuit, found by activation patching: the clean prompt
// repeats eight words, the corrupted one has other words in its first half, so only the clean run
// can predict the eighth word again. The induction heads are L1H2 and L1H3 (models/induction-2l/MODEL.md).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivationCache } from '../../src/index.js';
import {
  getActPatchAttnHeadOutAllPos,
  getActPatchBlockEvery,
  getActPatchMlpOut,
  getActPatchResidMid,
  getActPatchResidPre,
  HookedTransformer,
  logitDiffMetric,
  type PatchingMetric,
} from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const L = 8;
const BOS = 355;
const words = Array.from({ length: L }, (_, i) => 10 + 7 * i);
const others = Array.from({ length: L }, (_, i) => 200 + 5 * i);
const CLEAN = [[BOS, ...words, ...words.slice(0, L - 1)]];
const CORRUPT = [[BOS, ...others, ...words.slice(0, L - 1)]];
const INDUCTION_HEADS = [2, 3];

async function lastLogits(model: HookedTransformer, ids: number[][]): Promise<number[]> {
  const logits = await model.forward(ids);
  const last = tf.tidy(() => logits.slice([0, ids[0].length - 1, 0], [1, 1, -1]).reshape([-1]));
  const out = Array.from(await last.data());
  tf.dispose([logits, last]);
  return out;
}

describeBackends(
  'activation patching finds the induction circuit of induction-2l',
  () => {
    let model: HookedTransformer;
    let cache: ActivationCache;
    let restored: PatchingMetric;

    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-2l');
      const [clean, corrupt] = [await lastLogits(model, CLEAN), await lastLogits(model, CORRUPT)];
      const answer = words[L - 1];
      const wrong = corrupt.indexOf(Math.max(...corrupt));
      expect(clean.indexOf(Math.max(...clean))).toBe(answer);
      expect(wrong).not.toBe(answer);
      const ld = (l: number[]) => l[answer] - l[wrong];
      expect(ld(clean)).toBeGreaterThan(2);
      expect(ld(corrupt)).toBeLessThan(0);
      // 0 = the corrupted run's logit difference, 1 = the clean run's.
      restored = logitDiffMetric(answer, wrong, { clean: ld(clean), corrupt: ld(corrupt) });
      const run = await model.runWithCache(CLEAN);
      run.logits.dispose();
      cache = run.cache;
    });
    afterAll(() => {
      cache.dispose();
      model.dispose();
    });

    it("patching the layer-1 induction heads' z restores most of the logit difference", async () => {
      const perHead = await getActPatchAttnHeadOutAllPos(model, CORRUPT, cache, restored);
      const table = (await perHead.values.array()) as number[][];
      perHead.values.dispose();
      // The head that restores most is an induction head, and no layer-0 head restores much alone.
      const best = Math.max(...table[1]);
      expect(INDUCTION_HEADS).toContain(table[1].indexOf(best));
      expect(best).toBeGreaterThan(0.5);
      for (const v of table[0]) expect(Math.abs(v)).toBeLessThan(0.2);

      // Both induction heads together (one hook, both heads' z from the clean run).
      const z = cache.get('blocks.1.attn.hook_z');
      const heads = tf.tensor(
        [0, 1, 2, 3].map((h) => INDUCTION_HEADS.includes(h)),
        [1, 1, 4, 1],
        'bool',
      );
      const logits = await model.runWithHooks(CORRUPT, {
        fwdHooks: [['blocks.1.attn.hook_z', (x) => tf.where(tf.broadcastTo(heads, x.shape), z, x)]],
      });
      const both = tf.tidy(() => restored(logits) as tf.Tensor);
      const fraction = (await both.data())[0];
      tf.dispose([heads, logits, both]);
      expect(fraction).toBeGreaterThan(0.8);
    });

    it('the residual stream matters at layer 1 only where the answer first appeared', async () => {
      const r = await getActPatchResidPre(model, CORRUPT, cache, restored);
      const table = (await r.values.array()) as number[][];
      r.values.dispose();
      // Position L holds the answer's first occurrence (BOS is position 0).
      expect(table[1][L]).toBeGreaterThan(0.9);
      const others = table[1].filter((_, p) => p !== L);
      for (const v of others) expect(Math.abs(v)).toBeLessThan(0.2);
    });

    it('presets that need an MLP fail clearly on an attention-only model', async () => {
      for (const fn of [getActPatchMlpOut, getActPatchResidMid, getActPatchBlockEvery]) {
        await expect(fn(model, CORRUPT, cache, restored)).rejects.toThrow(
          /has no blocks\.0\.hook_(mlp_out|resid_mid): it is attention-only \(cfg\.attnOnly: no MLP layers\); expected one of resid_pre, .*z/,
        );
      }
    });
  },
  WASM_ONLY,
);
