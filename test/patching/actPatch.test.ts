// Activation patching's identities and its errors, on gpt2-tiny (unprocessed).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivationCache } from '../../src/index.js';
import {
  genericActivationPatch,
  getActPatch,
  getActPatchAttnHeadPatternAllPos,
  getActPatchAttnHeadOutByPos,
  getActPatchAttnOut,
  getActPatchResidPre,
  HookedTransformer,
  InvalidArgumentError,
  logitDiffMetric,
  UnknownKeyError,
} from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenTensor } from '../helpers/golden.js';

describeBackends('activation patching: identities and errors', () => {
  let model: HookedTransformer;
  let clean: number[][];
  let corrupt: number[][];
  let cache: ActivationCache;
  let cleanMetric: number;
  const metric = logitDiffMetric(33, 195);

  beforeAll(async () => {
    model = await HookedTransformer.fromPretrainedNoProcessing(GPT2_TINY);
    const tokens = goldenTensor(await golden('raw'), 'tokens');
    const rows = (await tokens.array()) as number[][];
    tokens.dispose();
    [clean, corrupt] = [[rows[0]], [rows[1]]];
    const run = await model.runWithCache(clean);
    const m = tf.tidy(() => metric(run.logits) as tf.Tensor);
    cleanMetric = (await m.data())[0];
    tf.dispose([m, run.logits]);
    cache = run.cache;
  });
  afterAll(() => {
    cache.dispose();
    model.dispose();
  });

  it('patching the clean run with its own cache gives the clean metric everywhere', async () => {
    for (const fn of [getActPatchResidPre, getActPatchAttnHeadOutByPos, getActPatchAttnHeadPatternAllPos]) {
      const r = await fn(model, clean, cache, metric);
      const values = await r.values.data();
      r.values.dispose();
      expect(values.length).toBeGreaterThan(0);
      for (const v of values) expect(Math.abs(v - cleanMetric)).toBeLessThan(1e-5);
    }
  });

  it('explicit indices patch only those, flat, and agree with the full grid', async () => {
    const full = await getActPatchResidPre(model, corrupt, cache, metric);
    const some = await genericActivationPatch(model, corrupt, cache, metric, {
      activationName: 'resid_pre',
      indexAxisNames: ['layer', 'pos'],
      indices: [
        [1, 3],
        [0, 7],
      ],
    });
    expect(some.axes).toEqual(['patch']);
    expect(some.labels).toEqual([['layer 1, pos 3', 'layer 0, pos 7']]);
    const grid = (await full.values.array()) as number[][];
    const got = Array.from(await some.values.data());
    expect(got[0]).toBeCloseTo(grid[1][3], 5);
    expect(got[1]).toBeCloseTo(grid[0][7], 5);
    tf.dispose([full.values, some.values]);
  });

  it('presets are found by name, TL spelling included; unknown names get suggestions', async () => {
    const r = await getActPatch('get_act_patch_attn_head_out_all_pos', model, corrupt, cache, metric);
    expect(r.values.shape).toEqual([2, 4]);
    r.values.dispose();
    await expect(getActPatch('getActPatchResidPr', model, corrupt, cache, metric)).rejects.toThrow(
      /Unknown patching preset 'getActPatchResidPr'.*'getActPatchResidPre'/,
    );
    await expect(getActPatch('toString', model, corrupt, cache, metric)).rejects.toThrow(UnknownKeyError);
  });

  it('an unknown activation or axis is named with the nearest ones', async () => {
    const patch = (activationName: string, indexAxisNames: string[]) =>
      genericActivationPatch(model, corrupt, cache, metric, { activationName, indexAxisNames });
    await expect(patch('resid_pr', ['layer', 'pos'])).rejects.toThrow(
      /Unknown activation name 'resid_pr'.*'resid_pre'/,
    );
    await expect(patch('resid_pre', ['layer', 'position'])).rejects.toThrow(
      /Unknown patching axis .*'position'.*'pos'/,
    );
    await expect(patch('resid_pre', ['layer', 'head'])).rejects.toThrow(
      /axis 'head' given for 'resid_pre' \(dims \[batch, pos, d_model\]\); expected one of 'layer', 'pos'/,
    );
    await expect(patch('z', ['pos', 'head'])).rejects.toThrow(/name 'layer' 0 times; expected exactly once/);
    await expect(patch('blocks.0.hook_z', ['layer'])).rejects.toThrow(
      /expected a per-layer name without its layer/,
    );
  });

  it('clean and corrupted inputs of different lengths fail before any run, naming both shapes', async () => {
    await expect(getActPatchResidPre(model, [corrupt[0].slice(0, 7)], cache, metric)).rejects.toThrow(
      /clean cache's blocks\.0\.hook_resid_pre has shape \[1, 8, 64\]; expected \[1, 7, 64\].*same batch size and number of tokens/,
    );
    await expect(getActPatchResidPre(model, [...corrupt, ...corrupt], cache, metric)).rejects.toThrow(
      /shape \[1, 8, 64\]; expected \[2, 8, 64\]/,
    );
  });

  it('a cache without the activation is an error saying so', async () => {
    const { cache: partial, logits } = await model.runWithCache(clean, {
      namesFilter: 'blocks.0.hook_resid_pre',
    });
    logits.dispose();
    await expect(getActPatchAttnOut(model, corrupt, partial, metric)).rejects.toThrow(
      /the clean cache has no 'blocks\.0\.hook_attn_out'/,
    );
    partial.dispose();
  });

  it('a metric that is not one number per patch is an error naming its shape', async () => {
    const perPosition = (l: tf.Tensor) => l.slice([0, 7, 0], [1, 1, -1]);
    await expect(
      getActPatchResidPre(model, corrupt, cache, perPosition, { patchesPerForward: 4 }),
    ).rejects.toThrow(/metric returned a tensor of shape \[1, 1, 304\]; expected one value per patch/);
    const text = (() => 'high') as unknown as (l: tf.Tensor) => number;
    await expect(getActPatchResidPre(model, corrupt, cache, text)).rejects.toThrow(/metric returned string/);
    const boom = () => {
      throw new Error('metric failed');
    };
    await expect(getActPatchResidPre(model, corrupt, cache, boom)).rejects.toThrow('metric failed');
    // A number works as well as a scalar tensor, and a [1] tensor as well as [].
    const r = await getActPatchResidPre(model, corrupt, cache, (l) => tf.reshape(tf.sum(l), [1]), {
      patchesPerForward: 3,
    });
    const n = await getActPatchResidPre(model, corrupt, cache, () => 1.5);
    expect(Array.from(await n.values.data()).every((v) => v === 1.5)).toBe(true);
    tf.dispose([r.values, n.values]);
  });

  it('bad options are errors', async () => {
    await expect(
      getActPatchResidPre(model, corrupt, cache, metric, { patchesPerPass: 2 } as unknown as object),
    ).rejects.toThrow(/getActPatchResidPre: unknown option 'patchesPerPass'/);
    await expect(
      getActPatchResidPre(model, corrupt, cache, metric, { patchesPerForward: 0 }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(
      getActPatchResidPre(model, corrupt, cache, 'logit diff' as unknown as () => number),
    ).rejects.toThrow(/patchingMetric given as string; expected a function/);
    expect(() => logitDiffMetric(1.5, 2)).toThrow(/answer 1.5 given; expected a token id/);
  });
});
