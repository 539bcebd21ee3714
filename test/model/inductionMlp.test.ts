// The shipped induction-mlp-2l model: it loads by name as a GPT-2-style model with MLPs, copies
// repeated words as its model card says, and its MLPs take part in the answer.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { halfAccuracies, repeatedBatch, rng } from '../../scripts/induction/model.js';
import { WORDS } from '../../scripts/induction/words.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const HALF = 20;
// A seed neither trainer uses (the PyTorch one draws with NumPy from seeds around 4321).
const TEST_SEED = 20261130;
const CHANCE = 1 / WORDS.length;

describeBackends(
  'induction-mlp-2l',
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-mlp-2l');
    });
    afterAll(() => model.dispose());

    it('loads by name as a 2-layer model with MLPs and the word tokenizer', () => {
      expect(model.cfg).toMatchObject({
        modelName: 'induction-mlp-2l',
        nLayers: 2,
        attnOnly: false,
        dMlp: 256,
        actFn: 'gelu_new',
        dVocab: WORDS.length + 1,
      });
      expect(model.hookNames).toContain('blocks.1.mlp.hook_post');
      expect(model.toStrTokens('the cat')).toEqual(['<|endoftext|>', 'the', 'cat']);
    });

    it('copies the repeated half about as well as its model card says, and not the first half', async () => {
      const card = readFileSync('models/induction-mlp-2l/MODEL.md', 'utf8');
      const claim = /\| BOS \+ 20 \+ 20 \| [\d.]+ \| ([\d.]+)% \|/.exec(card);
      expect(claim, 'the card has a BOS + 20 + 20 row').not.toBeNull();
      const rows = repeatedBatch(rng(TEST_SEED), 16, HALF);
      const logits = await model.forward(rows);
      const { first, repeated } = halfAccuracies(logits, rows, HALF);
      logits.dispose();
      // 16 fresh sequences of lazylens's own data stream: within a few points of the card's figure
      expect(repeated).toBeGreaterThan(0.9);
      expect(Math.abs(repeated - Number(claim![1]) / 100)).toBeLessThan(0.05);
      expect(first).toBeLessThan(5 * CHANCE + 0.01);
    });

    it('has trained MLPs: zeroing their outputs changes the predictions', async () => {
      const rows = repeatedBatch(rng(TEST_SEED + 1), 4, HALF);
      const plain = await model.forward(rows);
      const zero = (t: tf.Tensor): tf.Tensor => tf.zerosLike(t);
      const ablated = await model.runWithHooks(rows, {
        fwdHooks: [
          ['blocks.0.hook_mlp_out', zero],
          ['blocks.1.hook_mlp_out', zero],
        ],
      });
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(plain, ablated))));
      try {
        expect((await diff.data())[0]).toBeGreaterThan(1);
      } finally {
        tf.dispose([plain, ablated, diff]);
      }
    });
  },
  WASM_ONLY,
);
