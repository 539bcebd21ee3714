// The patching presets against the PyTorch reference (scripts/goldens/make_patch_presets_golden.py):
// gpt2-tiny unprocessed, clean = golden prompt 0, corrupted = golden prompt 1, metric = the logit
// difference at the last position.
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivationCache } from '../../src/index.js';
import {
  getActPatchAttnHeadAllPosEvery,
  getActPatchAttnHeadByPosEvery,
  getActPatchAttnHeadPatternByPos,
  getActPatchBlockEvery,
  getActPatchResidPre,
  HookedTransformer,
  logitDiffMetric,
  type ActPatchResult,
} from '../../src/index.js';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const PRESETS = fileURLToPath(
  new URL('../fixtures/gpt2-tiny-golden/patch_presets.safetensors', import.meta.url),
);

describeBackends('activation patching presets vs PyTorch', (backend) => {
  let want: SafetensorsFile;
  let model: HookedTransformer;
  let clean: number[][];
  let corrupt: number[][];
  let cache: ActivationCache;
  let metric: ReturnType<typeof logitDiffMetric>;

  beforeAll(async () => {
    want = await loadSafetensorsFile(PRESETS);
    model = await HookedTransformer.fromPretrainedNoProcessing(GPT2_TINY);
    const tokens = goldenTensor(await golden('raw'), 'tokens');
    const rows = (await tokens.array()) as number[][];
    tokens.dispose();
    [clean, corrupt] = [[rows[0]], [rows[1]]];
    const run = await model.runWithCache(clean);
    run.logits.dispose();
    cache = run.cache;
    metric = logitDiffMetric(Number(want.metadata.answer), Number(want.metadata.wrong));
  });
  afterAll(() => {
    cache.dispose();
    model.dispose();
  });

  /** Entry `act` of a stacked result (or all of it) against golden `name`. */
  async function expectGolden(r: ActPatchResult, name: string, act?: number): Promise<void> {
    const got = act === undefined ? r.values.clone() : tf.tidy(() => tf.gather(r.values, act));
    const ref = goldenTensor(want, name);
    try {
      expect(await maxAbsDiff(got, ref), name).toBeLessThan(1e-4);
    } finally {
      tf.dispose([got, ref]);
    }
  }

  it('resid_pre layer × pos, one patch per pass and batched, as the reference', async () => {
    const single = await getActPatchResidPre(model, corrupt, cache, metric, { patchesPerForward: 1 });
    const batched = await getActPatchResidPre(model, corrupt, cache, metric, { patchesPerForward: 5 });
    expect(single.axes).toEqual(['layer', 'pos']);
    expect(single.values.shape).toEqual([2, 8]);
    expect(single.labels[0]).toEqual(['0', '1']);
    expect(single.labels[1]).toEqual(model.toStrTokens(corrupt[0]));
    await expectGolden(single, 'resid_pre');
    await expectGolden(batched, 'resid_pre');
    tf.dispose([single.values, batched.values]);
  });

  it('block every: resid_pre, attn_out and mlp_out stacked [3, layer, pos]', async () => {
    const r = await getActPatchBlockEvery(model, corrupt, cache, metric);
    expect(r.axes).toEqual(['act', 'layer', 'pos']);
    expect(r.labels[0]).toEqual(['resid_pre', 'attn_out', 'mlp_out']);
    await expectGolden(r, 'resid_pre', 0);
    await expectGolden(r, 'attn_out', 1);
    await expectGolden(r, 'mlp_out', 2);
    r.values.dispose();
  });

  it('heads at all positions: z, v and pattern of the all-pos bundle [5, layer, head]', async () => {
    const r = await getActPatchAttnHeadAllPosEvery(model, corrupt, cache, metric);
    expect(r.axes).toEqual(['act', 'layer', 'head']);
    expect(r.values.shape).toEqual([5, 2, 4]);
    expect(r.labels[0]).toEqual(['output', 'query', 'key', 'value', 'pattern']);
    await expectGolden(r, 'z_all_pos', 0);
    await expectGolden(r, 'v_all_pos', 3);
    await expectGolden(r, 'pattern_all_pos', 4);
    r.values.dispose();
  });

  // 160 patched runs: too slow for the pure-JS cpu backend.
  const itFast = backend === 'cpu' ? it.skip : it;
  itFast(
    'heads by position: z, v and pattern (transposed to [layer, pos, head]) of the by-pos bundle',
    async () => {
      const r = await getActPatchAttnHeadByPosEvery(model, corrupt, cache, metric);
      expect(r.axes).toEqual(['act', 'layer', 'pos', 'head']);
      expect(r.values.shape).toEqual([5, 2, 8, 4]);
      await expectGolden(r, 'z_by_pos', 0);
      await expectGolden(r, 'v_by_pos', 3);
      const pattern = await getActPatchAttnHeadPatternByPos(model, corrupt, cache, metric);
      expect(pattern.axes).toEqual(['layer', 'head_index', 'dest_pos']);
      await expectGolden(pattern, 'pattern_by_pos');
      const transposed = tf.tidy(() => tf.transpose(tf.gather(r.values, 4), [0, 2, 1]));
      expect(await maxAbsDiff(transposed, pattern.values)).toBe(0);
      tf.dispose([r.values, pattern.values, transposed]);
    },
  );

  it('the metric before patching matches the reference on both runs', async () => {
    const cleanLogits = await model.forward(clean);
    const corruptLogits = await model.forward(corrupt);
    const got = tf.tidy(() =>
      tf.stack([metric(cleanLogits) as tf.Tensor, metric(corruptLogits) as tf.Tensor]),
    );
    const ref = tf.tidy(() =>
      tf.concat([goldenTensor(want, 'clean_metric'), goldenTensor(want, 'corrupt_metric')]),
    );
    expect(await maxAbsDiff(got, ref)).toBeLessThan(1e-4);
    tf.dispose([cleanLogits, corruptLogits, got, ref]);
  });
});
