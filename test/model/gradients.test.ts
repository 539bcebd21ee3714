// Gradients of a metric w.r.t. every cached activation (runWithCache's inclBwd), against the
// PyTorch goldens (scripts/goldens/make_grad_golden.py) and finite differences.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import type { HookedTransformerConfig } from '../../src/core/config.js';
import { readHfConfig } from '../../src/loading/hfConfig.js';
import type { SafetensorsFile } from '../../src/loading/safetensors.js';
import { loadSafetensorsFile } from '../../src/loading/safetensors.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
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

describeBackends(
  'runWithCache inclBwd',
  () => {
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
  },
  WASM_ONLY,
);
