// The shipped induction-2l model: it loads by name, copies repeated text, and does so with
// layer-1 induction heads (found by direct logit attribution, confirmed by their attention).
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer, TokenError } from '../../src/index.js';
import { tempDirs } from '../loading/synthetic.js';
import {
  EOT_ID,
  chunkedBatchWithTargets,
  halfAccuracies,
  inductionConfig,
  initParams,
  repeatedBatch,
  rng,
  trainForward,
  writeModelFolder,
} from '../../scripts/induction/model.js';
import { WORDS } from '../../scripts/induction/words.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const HALF = 20;
// A seed the training script never uses (it draws from seed+1 and evaluates on seed+2, seed 1234).
const TEST_SEED = 20261128;
const CHANCE = 1 / WORDS.length;
// Checks that only a real induction mechanism passes (a fixed-offset copy trained at one L does not).
const INDUCTION = it;

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

describeBackends(
  'induction-2l',
  () => {
    const tempDir = tempDirs();
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-2l');
    });
    afterAll(() => model.dispose());

    it('loads by name as a 2-layer attention-only model with a one-token-per-word tokenizer', async () => {
      expect(model.cfg).toMatchObject({
        modelName: 'induction-2l',
        nLayers: 2,
        attnOnly: true,
        dMlp: null,
        dVocab: WORDS.length + 1,
        normalizationType: 'LNPre',
      });
      expect(model.hookNames.some((n) => n.includes('mlp'))).toBe(false);
      const cat = model.toSingleToken('cat');
      expect(model.toSingleToken(' cat')).toBe(cat);
      expect(model.toSingleToken('Cat')).toBe(cat);
      expect(model.toStrTokens('the cat and the  dog swim')).toEqual([
        '<|endoftext|>',
        'the',
        'cat',
        'and',
        'the',
        'dog',
        'swim',
      ]);
      const ids = model.toTokens('The big dog  walk to the park');
      expect(model.toString(await ids.array())).toEqual(['<|endoftext|> the big dog walk to the park']);
      ids.dispose();
      // a word outside the list is an error, never a silent unknown token
      expect(() => model.toTokens('the dog can run')).toThrow(TokenError);
      expect(() => model.toTokens('the dog can run')).toThrow(/"can", which becomes token '\[UNK\]'/);
    });

    it('reproduces the training forward pass exactly after a save and load', async () => {
      // A small random model through the same export path the training script uses.
      const cfg = inductionConfig({ nCtx: 16, dModel: 16, nHeads: 2, dHead: 8 });
      const params = initParams(cfg, 7);
      const dir = await tempDir();
      await writeModelFolder(dir, cfg, params);
      const loaded = await HookedTransformer.fromPretrainedNoProcessing(dir);
      const rows = repeatedBatch(rng(3), 2, 7);
      const ours = tf.tidy(() => trainForward(cfg, params, rows));
      const theirs = await loaded.forward(rows);
      expect(await maxAbsDiff(ours, theirs)).toBeLessThan(1e-5);
      tf.dispose([ours, theirs, ...params.values()]);
      loaded.dispose();

      // The shipped weights: the library's forward pass and the training one agree on them.
      const raw = await HookedTransformer.fromPretrainedNoProcessing('induction-2l');
      const seq = repeatedBatch(rng(TEST_SEED), 2, HALF);
      const trained = tf.tidy(() => trainForward(raw.cfg, new Map(raw.stateDict()), seq));
      const lib = await raw.forward(seq);
      expect(await maxAbsDiff(trained, lib)).toBeLessThan(1e-4);
      tf.dispose([trained, lib]);
      raw.dispose();
    });

    /** Top-1 accuracies on 8 fresh sequences of BOS + half + half. */
    async function accuracies(half: number): Promise<{ first: number; repeated: number }> {
      const rows = repeatedBatch(rng(TEST_SEED + half), 8, half);
      const logits = await model.forward(rows);
      const acc = halfAccuracies(logits, rows, half);
      logits.dispose();
      return acc;
    }

    it('predicts the repeated half (> 90% top-1) but not the first half (near chance)', async () => {
      const { first, repeated } = await accuracies(HALF);
      expect(repeated).toBeGreaterThan(0.9);
      expect(first).toBeLessThan(5 * CHANCE + 0.01);
    });

    INDUCTION('copies repeats of other lengths too, and on text', async () => {
      // A fixed-offset (positional) copy trained at L = 32 fails these; an induction head does not.
      const { repeated } = await accuracies(20);
      expect(repeated, 'repeated half, L = 20').toBeGreaterThan(0.9);
      const words = ['the', 'red', 'fox', 'jump', 'over', 'a', 'big', 'hill'];
      const textLogits = await model.forward(`${words.join(' ')} ${words.join(' ')}`);
      const argMax = tf.tidy(() => tf.argMax(tf.squeeze(textLogits, [0]), -1));
      textLogits.dispose();
      const predicted = (await argMax.array()) as number[];
      argMax.dispose();
      // BOS, words at 1..8, again at 9..16: position 9 + k holds word k and should predict word k + 1
      expect(predicted.slice(9, 16).map((id) => WORDS[id])).toEqual(words.slice(1));
    });

    INDUCTION('completes short repeats anywhere in the context', async () => {
      // Rows packed with 2–3-word repeats up to 8 words apart: only the word right after the
      // previous occurrence completes them (a copy anchored several positions back cannot).
      const { rows, predictable } = chunkedBatchWithTargets(rng(TEST_SEED + 2), 16, model.cfg.nCtx, 2, 28, {
        shortShare: 1,
        shortMax: 3,
        maxGap: 8,
      });
      const logits = await model.forward(rows);
      const argMax = tf.tidy(() => tf.argMax(logits, -1));
      logits.dispose();
      const predicted = (await argMax.array()) as number[][];
      argMax.dispose();
      let right = 0;
      let total = 0;
      predictable.forEach((targets, b) =>
        targets.forEach((v, t) => {
          if (!v) return;
          total++;
          if (predicted[b][t] === rows[b][t + 1]) right++;
        }),
      );
      expect(total).toBeGreaterThan(100);
      expect(right / total, `${right} of ${total}`).toBeGreaterThan(0.9);
    });

    INDUCTION(
      'copies with layer-1 induction heads: largest direct logit attribution, attending to the token after the previous occurrence',
      async () => {
        const rows = repeatedBatch(rng(TEST_SEED + 1), 4, HALF);
        expect(rows[0][0]).toBe(EOT_ID);
        const { cfg } = model;
        const { logits, cache } = await model.runWithCache(rows, {
          namesFilter: (name: string) =>
            name.endsWith('attn.hook_z') ||
            name.endsWith('attn.hook_pattern') ||
            name === 'ln_final.hook_scale',
        });
        logits.dispose();
        const batch = rows.length;
        const pos = rows[0].length;
        // query positions of the repeated half whose answer is predictable: HALF+1 .. 2·HALF−1
        const queries = Array.from({ length: HALF - 1 }, (_, i) => HALF + 1 + i);
        const answers = rows.map((r) => queries.map((p) => r[p + 1]));

        // Per-head direct logit attribution to the correct next token, averaged over those positions:
        // (z_h · W_O[h]) centred over d_model, divided by ln_final's scale, dotted with W_U[:, answer].
        const dla = tf.tidy(() => {
          const scale = tf.gather(cache.get('ln_final.hook_scale'), queries, 1); // [b, q, 1]
          const dirs = tf.reshape(
            tf.gather(tf.transpose(model.getParam('unembed.W_U')), tf.tensor1d(answers.flat(), 'int32')),
            [batch, queries.length, cfg.dModel],
          );
          const perLayer = [0, 1].map((layer) => {
            const z = tf.gather(cache.get(`blocks.${layer}.attn.hook_z`), queries, 1); // [b, q, h, dh]
            const zh = tf.reshape(tf.transpose(z, [2, 0, 1, 3]), [cfg.nHeads, -1, cfg.dHead]);
            const wO = model.getParam(`blocks.${layer}.attn.W_O`); // [h, dh, d]
            const result = tf.reshape(tf.matMul(zh, wO), [cfg.nHeads, batch, queries.length, cfg.dModel]);
            const centred = tf.sub(result, tf.mean(result, -1, true));
            return tf.mean(tf.sum(tf.mul(tf.div(centred, scale), dirs), -1), [1, 2]); // [h]
          });
          return tf.concat(perLayer); // [layers·heads], index layer·nHeads + head
        });
        const scores = Array.from(await dla.data());
        dla.dispose();

        // Attention of each query to the token after the previous occurrence of its token (the
        // induction target, at q − HALF + 1), and to the token right before it (a previous-token
        // head's target, at q − 1).
        const patterns = (await Promise.all(
          [0, 1].map((layer) => cache.get(`blocks.${layer}.attn.hook_pattern`).array()),
        )) as number[][][][][];
        cache.dispose();
        const meanAttention = (layer: number, head: number, key: (q: number) => number): number => {
          let sum = 0;
          for (let b = 0; b < batch; b++) for (const q of queries) sum += patterns[layer][b][head][q][key(q)];
          return sum / (batch * queries.length);
        };
        const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
        const best = order[0][0];
        expect(best).toBeGreaterThan(0);
        // the top heads: the best one, and any other within half of it
        const top = order.filter(([s]) => s >= best / 2).map(([, i]) => i);
        for (const i of top) {
          const layer = Math.floor(i / cfg.nHeads);
          const head = i % cfg.nHeads;
          expect(layer, `head ${layer}.${head} (DLA ${scores[i].toFixed(2)})`).toBe(1);
          const induction = meanAttention(layer, head, (q) => q - HALF + 1);
          expect(induction, `head ${layer}.${head}: attention to the induction target`).toBeGreaterThan(0.5);
        }
        // and what feeds them: a layer-0 previous-token head
        const previous = Array.from({ length: cfg.nHeads }, (_, h) => meanAttention(0, h, (q) => q - 1));
        expect(
          Math.max(...previous),
          `layer-0 attention to the previous token: ${previous.join(', ')}`,
        ).toBeGreaterThan(0.5);
        expect(pos).toBe(2 * HALF + 1);
      },
    );
  },
  WASM_ONLY,
);
