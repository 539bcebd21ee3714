// The GPT-Neo, GPT-NeoX and Llama code paths on random models: TL's hook names, order and shapes,
// grouped-query weights, padding with rotary positions, patching grouped keys, and folding rules.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import {
  HookedTransformer,
  InvalidArgumentError,
  makeConfig,
  type HookedTransformerConfig,
  type StateDict,
} from '../../src/index.js';
import { hookShape } from '../../src/core/hookPoints.js';
import { expectedParamShapes } from '../../src/core/stateDict.js';
import { describeBackends } from '../helpers/backends.js';
import { familyFolder } from '../helpers/familyGolden.js';
import { maxAbsDiff } from '../helpers/golden.js';

const base = { nLayers: 2, dModel: 16, nCtx: 12, dHead: 4, dVocab: 23 };
const NEO = makeConfig({
  ...base,
  attnTypes: ['global', 'local'],
  windowSize: 2,
  useLocalAttn: true,
  useAttnScale: false,
});
const NEOX = makeConfig({
  ...base,
  positionalEmbeddingType: 'rotary',
  rotaryDim: 2,
  parallelAttnMlp: true,
  actFn: 'gelu',
});
const LLAMA = makeConfig({
  ...base,
  normalizationType: 'RMS',
  finalRms: true,
  gatedMlp: true,
  actFn: 'silu',
  positionalEmbeddingType: 'rotary',
  nKeyValueHeads: 2,
  dMlp: 24,
});
const TOKENS = [
  [1, 2, 3, 4, 5, 6],
  [6, 5, 4, 3, 2, 1],
];

/** Random weights with norm weights away from 1 and nonzero biases. */
function randomParams(cfg: HookedTransformerConfig, seed: number): StateDict {
  const sd: StateDict = new Map();
  let i = 0;
  for (const [name, shape] of expectedParamShapes(cfg)) {
    const s = seed * 100 + i++;
    sd.set(
      name,
      name.endsWith('.w')
        ? tf.randomUniform(shape, 0.5, 1.5, 'float32', s)
        : tf.randomNormal(shape, 0, 0.4, 'float32', s),
    );
  }
  return sd;
}

const perBlock = (names: readonly string[]): string[] =>
  names.filter((n) => n.startsWith('blocks.0.')).map((n) => n.slice('blocks.0.'.length));

describeBackends('model families', () => {
  it("fire TL's hook points in TL's order with TL's shapes", async () => {
    const expected: [HookedTransformerConfig, string[]][] = [
      [NEO, ['hook_resid_pre', 'ln1.hook_scale', 'ln1.hook_normalized', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v',
        'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out', 'hook_resid_mid', 'ln2.hook_scale',
        'ln2.hook_normalized', 'mlp.hook_pre', 'mlp.hook_post', 'hook_mlp_out', 'hook_resid_post']],
      [NEOX, ['hook_resid_pre', 'ln1.hook_scale', 'ln1.hook_normalized', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v',
        'attn.hook_rot_q', 'attn.hook_rot_k', 'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out',
        'ln2.hook_scale', 'ln2.hook_normalized', 'mlp.hook_pre', 'mlp.hook_post', 'hook_mlp_out', 'hook_resid_post']],
      [LLAMA, ['hook_resid_pre', 'ln1.hook_scale', 'ln1.hook_normalized', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v',
        'attn.hook_rot_q', 'attn.hook_rot_k', 'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'hook_attn_out',
        'hook_resid_mid', 'ln2.hook_scale', 'ln2.hook_normalized', 'mlp.hook_pre', 'mlp.hook_pre_linear', 'mlp.hook_post',
        'hook_mlp_out', 'hook_resid_post']],
    ]; // prettier-ignore
    for (const [cfg, block] of expected) {
      const model = HookedTransformer.fromStateDict(cfg, randomParams(cfg, 1));
      expect(perBlock(model.hookNames)).toEqual(block);
      expect(model.hookNames.includes('hook_pos_embed')).toBe(cfg.positionalEmbeddingType === 'standard');
      const { logits, cache } = await model.runWithCache(TOKENS);
      expect([...cache.keys()]).toEqual(model.hookNames);
      for (const [name, t] of cache.items()) expect(t.shape, name).toEqual(hookShape(model.cfg, name, 2, 6));
      tf.dispose(logits);
      cache.dispose();
      model.dispose();
    }
  });

  it('grouped-query attention: hook_k/v/rot_k keep g heads; W_K/W_V are repeat-interleaved views of _W_K/_W_V', async () => {
    const model = HookedTransformer.fromStateDict(LLAMA, randomParams(LLAMA, 2));
    const { logits, cache } = await model.runWithCache([TOKENS[0]]);
    expect(cache.get('blocks.0.attn.hook_k').shape).toEqual([1, 6, 2, 4]);
    expect(cache.get('blocks.0.attn.hook_rot_k').shape).toEqual([1, 6, 2, 4]);
    expect(cache.get('blocks.0.attn.hook_z').shape).toEqual([1, 6, 4, 4]);
    expect(model.getParam('blocks.1.attn._W_K').shape).toEqual([2, 16, 4]);
    expect(model.W_K.shape).toEqual([2, 4, 16, 4]);
    expect(model.b_V.shape).toEqual([2, 4, 4]);
    expect(model.W_gate.shape).toEqual([2, 16, 24]);
    const stored = model.getParam('blocks.1.attn._W_V');
    const view = model.getParam('blocks.1.attn.W_V');
    // query heads 0,1 read value head 0; heads 2,3 read value head 1
    const want = tf.tidy(() => tf.gather(stored, [0, 0, 1, 1]));
    expect(await maxAbsDiff(view, want)).toBe(0);
    const layer1 = tf.tidy(() => model.W_V.slice([1], [1]).squeeze([0]));
    expect(await maxAbsDiff(layer1, want)).toBe(0);
    // the rotation keeps norms per pair: |rot_k| = |k| per position and head
    const norms = tf.tidy(() => [
      tf.norm(cache.get('blocks.0.attn.hook_k'), 'euclidean', -1),
      tf.norm(cache.get('blocks.0.attn.hook_rot_k'), 'euclidean', -1),
    ]);
    expect(await maxAbsDiff(norms[0], norms[1])).toBeLessThan(1e-5);
    tf.dispose([want, layer1, logits, ...norms]);
    cache.dispose();
    model.dispose();
  });

  it("RMSNorm's hook_normalized is x / scale, before the weight (as TransformerLens)", async () => {
    const model = HookedTransformer.fromStateDict(LLAMA, randomParams(LLAMA, 4));
    const { logits, cache } = await model.runWithCache([TOKENS[0]]);
    const want = tf.tidy(() =>
      tf.div(cache.get('blocks.1.hook_resid_mid'), cache.get('blocks.1.ln2.hook_scale')),
    );
    expect(await maxAbsDiff(cache.get('blocks.1.ln2.hook_normalized'), want)).toBeLessThan(1e-5);
    // The final norm too (finalRms).
    const fin = tf.tidy(() =>
      tf.div(cache.get('blocks.1.hook_resid_post'), cache.get('ln_final.hook_scale')),
    );
    expect(await maxAbsDiff(cache.get('ln_final.hook_normalized'), fin)).toBeLessThan(1e-5);
    tf.dispose([logits, want, fin]);
    cache.dispose();
    model.dispose();
  });

  it('patching a grouped key head through hook_k changes the output', async () => {
    const model = HookedTransformer.fromStateDict(LLAMA, randomParams(LLAMA, 3));
    const clean = await model.forward([TOKENS[0]]);
    const patched = await model.runWithHooks([TOKENS[0]], {
      fwdHooks: [['blocks.0.attn.hook_k', (k) => tf.mul(k, tf.tensor([1, 0], [1, 1, 2, 1]))]],
    });
    expect(await maxAbsDiff(clean, patched)).toBeGreaterThan(1e-3);
    await expect(
      model.runWithHooks([TOKENS[0]], {
        fwdHooks: [['blocks.0.attn.hook_k', (k) => tf.zeros([1, 6, 4, 4], k.dtype)]],
      }),
    ).rejects.toThrow(/returned shape \[1, 6, 4, 4\]; expected \[1, 6, 2, 4\]/);
    tf.dispose([clean, patched]);
    model.dispose();
  });

  it('processing keeps log-probabilities for every family, and folds RMS without centring', async () => {
    for (const cfg of [NEO, NEOX, LLAMA]) {
      const raw = HookedTransformer.fromStateDict(cfg, randomParams(cfg, 4));
      const processed = HookedTransformer.fromStateDict(
        cfg,
        randomParams(cfg, 4),
        HookedTransformer.DEFAULT_PROCESSING,
      );
      const [a, b] = [await raw.forward(TOKENS), await processed.forward(TOKENS)];
      const [la, lb] = [tf.logSoftmax(a), tf.logSoftmax(b)];
      expect(await maxAbsDiff(la, lb), cfg.normalizationType ?? '').toBeLessThan(1e-4);
      tf.dispose([a, b, la, lb]);
      if (cfg === LLAMA) {
        expect(processed.cfg.normalizationType).toBe('RMSPre');
        // RMS models get no centring of writing weights: W_E is untouched
        expect(await maxAbsDiff(processed.W_E, raw.W_E)).toBe(0);
      }
      raw.dispose();
      processed.dispose();
    }
    // TL would silently drop an LN bias's path through a gate that has no bias: refuse instead
    const lnGated = makeConfig({ ...base, gatedMlp: true, actFn: 'silu' });
    expect(() =>
      HookedTransformer.fromStateDict(
        lnGated,
        randomParams(lnGated, 5),
        HookedTransformer.DEFAULT_PROCESSING,
      ),
    ).toThrow(InvalidArgumentError);
  });

  it('local attention masks keys at or beyond the window', async () => {
    const model = HookedTransformer.fromStateDict(NEO, randomParams(NEO, 6));
    const { logits, cache } = await model.runWithCache([TOKENS[0]]);
    const local = (await cache.get('blocks.1.attn.hook_pattern').array()) as number[][][][];
    const global = (await cache.get('blocks.0.attn.hook_pattern').array()) as number[][][][];
    // window 2: query 5 sees keys 4 and 5 only on the local layer, all of 0..5 on the global one
    expect(local[0][0][5].map((x) => x > 0)).toEqual([false, false, false, false, true, true]);
    expect(global[0][0][5].every((x) => x > 0)).toBe(true);
    tf.dispose(logits);
    cache.dispose();
    model.dispose();
  });

  it('rotary models give a left-padded prompt the logits it has alone', async () => {
    const neox = await HookedTransformer.fromPretrained(familyFolder('neox'));
    const prompts = ['The cat sat on the mat.', 'The dog ran'];
    const batch = await neox.forward(prompts, { paddingSide: 'left' });
    const alone = await neox.forward(prompts[1]);
    const n = alone.shape[1] ?? 0;
    const tail = tf.tidy(() => batch.slice([1, (batch.shape[1] ?? 0) - n, 0], [1, n, -1]));
    expect(await maxAbsDiff(tail, alone)).toBeLessThan(1e-4);
    tf.dispose([batch, alone, tail]);
    neox.dispose();
    // ids with an explicit mask, on the grouped-query Llama fixture
    const llama = await HookedTransformer.fromPretrained(familyFolder('llama'));
    const padded = await llama.forward([[0, 0, 5, 9, 17]], { attentionMask: [[0, 0, 1, 1, 1]] });
    const single = await llama.forward([[5, 9, 17]]);
    const last = tf.tidy(() => padded.slice([0, 2, 0], [1, 3, -1]));
    expect(await maxAbsDiff(last, single)).toBeLessThan(1e-4);
    tf.dispose([padded, single, last]);
    llama.dispose();
  });

  it('posSlice slices the position axis of hook_rot_q / hook_rot_k (TL slices their head axis)', async () => {
    const model = HookedTransformer.fromStateDict(NEOX, randomParams(NEOX, 7));
    const { logits, cache } = await model.runWithCache(TOKENS, {
      posSlice: -1,
      namesFilter: (n) => n.includes('rot_') || n.endsWith('hook_q'),
    });
    expect(cache.get('blocks.0.attn.hook_rot_q').shape).toEqual([2, 1, 4, 4]);
    expect(cache.get('blocks.0.attn.hook_q').shape).toEqual([2, 1, 4, 4]);
    tf.dispose(logits);
    cache.dispose();
    model.dispose();
  });
});
