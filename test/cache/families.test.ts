// Every family through the cache's analysis methods, checked by identities that must hold exactly
// (up to float error) whatever the family: RMS and parallel-block branches included.
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends, WASM_AND_WEBGPU } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/golden.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const TOKENS = [
  [1, 5, 9, 2, 7, 3],
  [4, 4, 8, 1, 6, 2],
];

describeBackends(
  'cache analysis on every family',
  () => {
    const families = [
      'neo',
      'neox',
      'llama',
      'llama2c',
      'llama3',
      'qwen2',
      'mistral',
      'gemma',
      'gemma2',
      'phi3',
      'gptj',
      'opt',
      'bloom',
    ];
    for (const family of families.map((f) => `${f}-tiny`)) {
      it(`${family}: decompositions sum to the residual, the lens ends at ln_final`, async () => {
        const path = family === 'llama2c-tiny' ? `${fixture(family)}/model.bin` : fixture(family);
        const model = await HookedTransformer.fromPretrained(path);
        const n = model.cfg.nLayers;
        const { cache, logits } = await model.runWithCache(TOKENS);
        const last = cache.get(['resid_post', n - 1]);
        const checks: [tf.Tensor, tf.Tensor][] = [];
        const take = (lazy: { tensor(): tf.Tensor }, want: tf.Tensor): void => {
          checks.push([lazy.tensor(), want]);
        };
        // Gemma 2 normalizes each sublayer's output, so heads and neurons are not additive parts
        // of attn_out / mlp_out there (as in TL); attn_out and mlp_out themselves still are.
        const additive = !model.cfg.useNormalizationBeforeAndAfter;
        if (additive) {
          take(cache.getFullResidDecomposition().sum(0), last);
          take(cache.getFullResidDecomposition({ expandNeurons: false }).sum(0), last);
        }
        take(cache.decomposeResid().sum(0), last);
        take(cache.stackHeadResults({ inclRemainder: true }).sum(0), last);
        take(cache.stackNeuronResults(n, { inclRemainder: true }).sum(0), last);
        // processed models use LNPre / RMSPre: the cached-scale LN of the sum is ln_final's output
        take(cache.applyLnToStack(cache.decomposeResid()).sum(0), cache.get('ln_final.hook_normalized'));
        const lens = cache.accumulatedResid({ applyLn: true }).slice(0, -1);
        take(lens, cache.get('ln_final.hook_normalized'));
        for (const [got, want] of checks) expect(await maxAbsDiff(got, want)).toBeLessThan(1e-4);
        // logit attributions of the full decomposition (of attn_out / mlp_out when heads are not
        // additive) sum to the logits minus b_U (processed models); with a soft cap, to the
        // logits before it: cap · atanh(logits / cap)
        const stack = additive ? cache.getFullResidDecomposition() : cache.decomposeResid();
        const attrs = cache.logitAttrs(stack, TOKENS).sum(0).tensor();
        const cap = model.cfg.outputLogitsSoftCap;
        const picked = tf.tidy(() => {
          const raw = cap > 0 ? tf.mul(tf.atanh(tf.div(logits, cap)), cap) : logits;
          const flat = tf.reshape(raw, [-1, logits.shape[2] ?? 0]);
          const idx = tf.tensor1d(TOKENS.flat(), 'int32');
          const rows = tf.gather(flat, tf.range(0, 12, 1, 'int32'));
          const chosen = tf.sum(tf.mul(rows, tf.oneHot(idx, logits.shape[2] ?? 0)), -1);
          const bias = tf.gather(model.b_U, idx);
          return tf.reshape(tf.sub(chosen, bias), [2, 6]);
        });
        expect(await maxAbsDiff(attrs, picked)).toBeLessThan(1e-3);
        tf.dispose([
          ...checks.flat().filter((t) => !Array.from(cache.values()).includes(t)),
          attrs,
          picked,
          logits,
        ]);
        cache.dispose();
        model.dispose();
      });
    }
  },
  WASM_AND_WEBGPU,
);
