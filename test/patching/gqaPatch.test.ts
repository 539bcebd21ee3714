// Patching keys and values under grouped-query attention (llama3-tiny: 4 query heads, 2 key/value
// heads): the k/v presets iterate over the key/value heads, and the "every" bundles pad them with NaN.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivationCache } from '../../src/index.js';
import {
  getActPatchAttnHeadAllPosEvery,
  getActPatchAttnHeadKAllPos,
  getActPatchAttnHeadVByPos,
  HookedTransformer,
  logitDiffMetric,
} from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

const CLEAN = [[1, 2, 3, 4, 5]];
const CORRUPT = [[1, 9, 3, 4, 5]];

describeBackends('activation patching under grouped-query attention', () => {
  let model: HookedTransformer;
  let cache: ActivationCache;
  const metric = logitDiffMetric(5, 6);

  beforeAll(async () => {
    model = await HookedTransformer.fromPretrainedNoProcessing('test/fixtures/llama3-tiny');
    expect([model.cfg.nHeads, model.cfg.nKeyValueHeads]).toEqual([4, 2]);
    const run = await model.runWithCache(CLEAN);
    run.logits.dispose();
    cache = run.cache;
  });
  afterAll(() => {
    cache.dispose();
    model.dispose();
  });

  it('k and v presets run over the key/value heads', async () => {
    const k = await getActPatchAttnHeadKAllPos(model, CORRUPT, cache, metric);
    expect(k.values.shape).toEqual([2, 2]);
    expect(k.labels[1]).toEqual(['0', '1']);
    const v = await getActPatchAttnHeadVByPos(model, CORRUPT, cache, metric);
    expect(v.values.shape).toEqual([2, 5, 2]);
    const every = await getActPatchAttnHeadAllPosEvery(model, CORRUPT, cache, metric);
    expect(every.values.shape).toEqual([5, 2, 4]);
    expect(every.labels[2]).toEqual(['0', '1', '2', '3']);
    const grid = (await every.values.array()) as number[][][];
    const kGrid = (await k.values.array()) as number[][];
    for (const act of [2, 3]) {
      for (const row of grid[act]) {
        expect(row.slice(0, 2).every(Number.isFinite)).toBe(true);
        expect(row.slice(2).every(Number.isNaN)).toBe(true);
      }
    }
    for (const act of [0, 1, 4]) expect(grid[act].flat().every(Number.isFinite)).toBe(true);
    for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) expect(grid[2][l][h]).toBeCloseTo(kGrid[l][h], 5);
    tf.dispose([k.values, v.values, every.values]);
  });

  it('patching the clean run into itself leaves the metric unchanged', async () => {
    const logits = await model.forward(CLEAN);
    const m = tf.tidy(() => metric(logits) as tf.Tensor);
    const clean = (await m.data())[0];
    tf.dispose([logits, m]);
    const v = await getActPatchAttnHeadVByPos(model, CLEAN, cache, metric);
    for (const x of await v.values.data()) expect(Math.abs(x - clean)).toBeLessThan(1e-5);
    v.values.dispose();
  });
});
