// Gradients of a metric w.r.t. every cached activation (runWithCache's inclBwd), against the
// PyTorch goldens (scripts/goldens/make_grad_golden.py) and finite differences.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import type { HookedTransformerConfig } from '../../src/core/config.js';
import { readHfConfig } from '../../src/loading/hfConfig.js';
import type { SafetensorsFile } from '../../src/loading/safetensors.js';
import { loadSafetensorsFile } from '../../src/loading/safetensors.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';
import { describeBackends } from '../helpers/backends.js';
import { familyFolder, familyGolden } from '../helpers/familyGolden.js';
import { GPT2_TINY, golden, goldenStateDict, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-4;
const ANSWER = 5;
const WRONG = 7;
const GRADS = new URL('../fixtures/gpt2-tiny-golden/grads.safetensors', import.meta.url).pathname;

/** sum over the batch of logits[b, -1, ANSWER] − logits[b, -1, WRONG], as the golden script. */
function logitDiff(logits: tf.Tensor): tf.Tensor {
  const [b, p, v] = logits.shape;
  const last = tf.reshape(tf.slice(logits, [0, p - 1, 0], [b, 1, v]), [b, v]);
  const pick = tf.sub(tf.oneHot(ANSWER, v), tf.oneHot(WRONG, v));
  return tf.sum(tf.mul(last, pick));
}

describeBackends('runWithCache inclBwd', () => {
  let cfg: HookedTransformerConfig;
  let grads: SafetensorsFile;
  let model: HookedTransformer;
  let tokens: tf.Tensor;
  beforeAll(async () => {
    cfg = await readHfConfig(GPT2_TINY, { useAttnResult: true });
    grads = await loadSafetensorsFile(GRADS);
    model = HookedTransformer.fromStateDict(cfg, goldenStateDict(await golden('raw')));
    tokens = goldenTensor(grads, 'tokens');
    return () => {
      model.dispose();
      tokens.dispose();
    };
  });

  it("every hook activation's gradient of a logit difference matches PyTorch", async () => {
    const { logits, cache } = await model.runWithCache(tokens, { inclBwd: true, metric: logitDiff });
    const want = [...grads.tensors.keys()].filter((n) => n.startsWith('ld.')).map((n) => n.slice(3));
    const got = cache.keys().filter((k) => k.endsWith('_grad'));
    expect(got.sort()).toEqual([...want].sort());
    for (const name of want) {
      const w = goldenTensor(grads, `ld.${name}`);
      expect(await maxAbsDiff(cache.get(name), w), name).toBeLessThan(TOL);
      w.dispose();
    }
    logits.dispose();
    cache.dispose();
  });

  it('the default metric is the mean next-token loss, as TL differentiates return_type="loss"', async () => {
    const { loss, cache } = await model.runWithCache(tokens, { inclBwd: true, returnType: 'loss' });
    const want = [...grads.tensors.keys()].filter((n) => n.startsWith('loss.'));
    expect(want.length).toBe(8);
    for (const key of want) {
      const w = goldenTensor(grads, key);
      expect(await maxAbsDiff(cache.get(key.slice(5)), w), key).toBeLessThan(TOL);
      w.dispose();
    }
    const plain = await model.forward(tokens, { returnType: 'loss' });
    expect(await maxAbsDiff(loss, plain)).toBeLessThan(1e-6);
    tf.dispose([loss, plain]);
    cache.dispose();
  });

  it('gradients follow namesFilter, posSlice and removeBatchDim as the activations do', async () => {
    const row = tf.slice(tokens, [1, 0], [1, -1]);
    const { logits, cache } = await model.runWithCache(row, {
      inclBwd: true,
      metric: logitDiff,
      namesFilter: ['blocks.0.hook_resid_pre', 'blocks.1.attn.hook_pattern'],
      posSlice: -1,
      removeBatchDim: true,
    });
    expect(cache.keys()).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.1.attn.hook_pattern',
      'blocks.0.hook_resid_pre_grad',
      'blocks.1.attn.hook_pattern_grad',
    ]);
    expect(cache.get('blocks.0.hook_resid_pre_grad').shape).toEqual([1, 64]);
    // Row 1's gradient from the batch-of-two golden: the metric sums the rows, which do not interact.
    const full = goldenTensor(grads, 'ld.blocks.0.hook_resid_pre_grad');
    const want = tf.tidy(() => tf.slice(full, [1, 7, 0], [1, 1, -1]).reshape([1, 64]));
    expect(await maxAbsDiff(cache.get('blocks.0.hook_resid_pre_grad'), want)).toBeLessThan(TOL);
    tf.dispose([row, logits, full, want]);
    cache.dispose();
  });
});

for (const family of ['llama', 'neox'] as const) {
  describeBackends(`${family}-tiny inclBwd`, () => {
    it("every hook activation's gradient of a logit difference matches PyTorch", async () => {
      const cfg = await readHfConfig(familyFolder(family), { useAttnResult: true });
      const model = HookedTransformer.fromStateDict(cfg, goldenStateDict(await familyGolden(family, 'raw')));
      const file = await loadSafetensorsFile(
        new URL(`../fixtures/${family}-tiny-golden/grads.safetensors`, import.meta.url).pathname,
      );
      const tokens = goldenTensor(file, 'tokens');
      const { logits, cache } = await model.runWithCache(tokens, { inclBwd: true, metric: logitDiff });
      const want = [...file.tensors.keys()].filter((n) => n.startsWith('ld.')).map((n) => n.slice(3));
      expect(
        cache
          .keys()
          .filter((k) => k.endsWith('_grad'))
          .sort(),
      ).toEqual([...want].sort());
      for (const name of want) {
        const w = goldenTensor(file, `ld.${name}`);
        expect(await maxAbsDiff(cache.get(name), w), name).toBeLessThan(TOL);
        w.dispose();
      }
      tf.dispose([tokens, logits]);
      cache.dispose();
      model.dispose();
    });
  });
}

describeBackends('gradients on a tiny random model', () => {
  let model: HookedTransformer;
  beforeAll(() => {
    model = HookedTransformer.fromConfig(
      { nLayers: 2, dModel: 16, nCtx: 16, dHead: 4, nHeads: 4, dVocab: 30, actFn: 'gelu' },
      { seed: 7 },
    );
    return () => model.dispose();
  });
  const IDS = [[1, 4, 9, 16, 25, 6]];
  /** A metric touching every position: the sum of the logits times a fixed pattern. */
  const metric = (logits: tf.Tensor): tf.Tensor =>
    tf.tidy(() => tf.sum(tf.mul(logits, tf.sin(tf.range(0, logits.size).reshape(logits.shape)))));

  async function metricWith(name: string, index: number[], delta: number): Promise<number> {
    const bump = (x: tf.Tensor): tf.Tensor =>
      tf.tidy(() => {
        const buf = tf.buffer(x.shape);
        buf.set(delta, ...index);
        return tf.add(x, buf.toTensor());
      });
    const logits = await model.runWithHooks(IDS, { fwdHooks: [[name, bump]] });
    const m = metric(logits);
    const v = (await m.data())[0];
    tf.dispose([logits, m]);
    return v;
  }

  it('match central finite differences', async () => {
    const points: [string, number[]][] = [
      ['blocks.0.hook_resid_pre', [0, 2, 5]],
      ['blocks.0.attn.hook_q', [0, 4, 1, 2]],
      ['blocks.0.attn.hook_pattern', [0, 3, 5, 1]],
      ['blocks.1.mlp.hook_pre', [0, 5, 30]],
      ['blocks.1.hook_resid_post', [0, 1, 7]],
      ['ln_final.hook_scale', [0, 4, 0]],
    ];
    const { logits, cache } = await model.runWithCache(IDS, {
      inclBwd: true,
      metric,
      namesFilter: points.map(([n]) => n),
    });
    const h = 1e-2;
    for (const [name, index] of points) {
      const numeric = ((await metricWith(name, index, h)) - (await metricWith(name, index, -h))) / (2 * h);
      const g = cache.get(`${name}_grad`);
      const analytic = (await g.data())[index.reduce((acc, i, d) => acc * g.shape[d] + i, 0)];
      expect(
        Math.abs(analytic - numeric),
        `${name}[${index.join(', ')}]: ${analytic} vs ${numeric}`,
      ).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
    }
    logits.dispose();
    cache.dispose();
  });

  it('backward hooks see the gradient at their point, and a returned tensor replaces it upstream', async () => {
    const ref = await model.runWithCache(IDS, {
      inclBwd: true,
      metric,
      namesFilter: (n) => n.endsWith('resid_pre'),
    });
    let seen: tf.Tensor | undefined;
    model.addHook(
      'blocks.1.hook_resid_pre',
      (g, { name }) => {
        expect(name).toBe('blocks.1.hook_resid_pre');
        seen = tf.keep(g.clone());
      },
      { dir: 'bwd' },
    );
    const zero = tf.zeros(ref.cache.get('blocks.1.hook_resid_pre_grad').shape);
    const run = await model.withHooks({ bwdHooks: [['blocks.1.hook_resid_pre', () => zero]] }, (m) =>
      m.runWithCache(IDS, { inclBwd: true, metric, namesFilter: (n) => n.endsWith('resid_pre') }),
    );
    model.resetHooks();
    expect(await maxAbsDiff(seen!, ref.cache.get('blocks.1.hook_resid_pre_grad'))).toBe(0);
    // The cache keeps the gradient that arrived; the point before it only gets the replacement (zero).
    expect(await maxAbsDiff(run.cache.get('blocks.1.hook_resid_pre_grad'), seen!)).toBe(0);
    expect(await maxAbsDiff(run.cache.get('blocks.0.hook_resid_pre_grad'), zero)).toBe(0);
    // Forward-only entry points never run backward hooks.
    model.addHook(
      'hook_embed',
      () => {
        throw new Error('not on a forward');
      },
      { dir: 'bwd' },
    );
    (await model.forward(IDS)).dispose();
    model.resetHooks();
    tf.dispose([seen!, zero, ref.logits, run.logits]);
    ref.cache.dispose();
    run.cache.dispose();
  });

  it('lasting forward hooks shape the gradient pass', async () => {
    const ablate = (x: tf.Tensor): tf.Tensor => tf.zerosLike(x);
    model.addHook('blocks.1.hook_attn_out', ablate);
    const hooked = await model.runWithCache(IDS, {
      inclBwd: true,
      metric,
      namesFilter: ['blocks.1.hook_attn_out', 'blocks.1.attn.hook_z'],
    });
    model.resetHooks();
    // The ablated attn_out is cached as zero; z, upstream of it, gets a zero gradient.
    const zeros = tf.zeros([1, 6, 16]);
    expect(await maxAbsDiff(hooked.cache.get('blocks.1.hook_attn_out'), zeros)).toBe(0);
    expect(await maxAbsDiff(hooked.cache.get('blocks.1.hook_attn_out_grad'), zeros)).toBeGreaterThan(0);
    const zGrad = await hooked.cache.get('blocks.1.attn.hook_z_grad').data();
    expect(Math.max(...zGrad.map(Math.abs))).toBe(0);
    zeros.dispose();
    hooked.logits.dispose();
    hooked.cache.dispose();
  });

  it('rejects metrics that are not scalars or not functions of the model, and leaks nothing', async () => {
    await expect(model.runWithCache(IDS, { inclBwd: true, metric: (l) => tf.sum(l, 2) })).rejects.toThrow(
      /metric returned a tensor of shape \[1, 6\]; expected a scalar/,
    );
    await expect(model.runWithCache(IDS, { inclBwd: true, metric: () => tf.scalar(1) })).rejects.toThrow(
      /does not depend on any activation/,
    );
    await expect(model.runWithCache(IDS, { metric })).rejects.toThrow(/metric given without inclBwd/);
    await expect(model.runWithCache(IDS, { inclBwd: true, stopAtLayer: 1 })).rejects.toThrow(/give a metric/);
    await expect(model.runWithCache(IDS, { inclBwd: true, metric: 'loss' as never })).rejects.toThrow(
      /metric given as string/,
    );
    const boom = (): never => {
      throw new Error('hook failed');
    };
    await expect(
      model.withHooks({ bwdHooks: [['blocks.0.hook_resid_pre', boom]] }, (m) =>
        m.runWithCache(IDS, { inclBwd: true, metric }),
      ),
    ).rejects.toThrow('hook failed');
    await expect(
      model.withHooks({ fwdHooks: [['blocks.0.hook_resid_pre', boom]] }, (m) =>
        m.runWithCache(IDS, { inclBwd: true, metric }),
      ),
    ).rejects.toThrow('hook failed');
    expect(model.hookCount()).toBe(0);
  });

  it('names the op when the backend cannot differentiate the metric (gather on wasm)', async () => {
    const picked = (l: tf.Tensor): tf.Tensor => tf.sum(tf.gather(tf.reshape(l, [-1]), [3, 5]));
    if (tf.getBackend() === 'wasm') {
      await expect(model.runWithCache(IDS, { inclBwd: true, metric: picked })).rejects.toThrow(
        /pick logits with tf.slice/,
      );
    } else {
      const { logits, cache } = await model.runWithCache(IDS, { inclBwd: true, metric: picked });
      expect(cache.has('hook_embed_grad')).toBe(true);
      logits.dispose();
      cache.dispose();
    }
  });
});
