// streamCaches on a real (tiny) GPT-2: what a batch holds and when it is freed, padding that gives
// every prompt the results it has alone, errors midway, and a flat tensor count.
import * as tf from '@tensorflow/tfjs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SliceInput } from '../../graph/slice.js';
import { HookedTransformer, type ActivationCache } from '../../src/index.js';
import type { CacheBatch, PromptInput, PromptRecord } from '../../src/stream/CacheBatch.js';
import { lastTokenDla } from '../../src/stream/lastTokenDla.js';
import { mapToLazy } from '../../src/stream/mapToLazy.js';
import { materialize } from '../../src/stream/materialize.js';
import { streamCaches } from '../../src/stream/streamCaches.js';
import { StreamError } from '../../src/errors.js';
import { useBatch } from '../../src/stream/useBatch.js';
import { describeBackends, WASM_AND_WEBGPU, WITH_WEBGPU } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';

const PROMPTS: PromptRecord[] = [
  { prompt: 'The cat sat on the mat and', answer: 17 },
  { prompt: 'A dog', answer: 40 },
  { prompt: [303, 12, 99, 7], answer: 5 }, // token ids, used as given
  { prompt: 'Birds fly south', answer: 250 },
];

describeBackends(
  'streamCaches',
  () => {
    let model: HookedTransformer;
    // Loaded once for the suite; the global leak check compares counts per test, so it is unaffected.
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(GPT2_TINY);
    });
    afterAll(() => model.dispose());

    it('emits index, records, tokens, mask, logits and cache per batch, and frees them after', async () => {
      const seen: CacheBatch<PromptInput>[] = [];
      const shapes = await lastValueFrom(
        streamCaches(model, ['One two three', [303, 5], 'Four'], { batchSize: 2 }).pipe(
          // useBatch holds the batch across the asynchronous read (webgpu has no synchronous one).
          useBatch(async (b) => {
            seen.push(b);
            return {
              index: b.index,
              records: b.records,
              tokens: b.tokens.shape,
              mask: await b.attentionMask.array(),
              logits: b.logits.shape,
              keys: b.cache.size,
              lengths: b.lengths,
            };
          }),
          toArray(),
        ),
      );
      const ids = model.toTokens('One two three');
      const width = ids.shape[1];
      ids.dispose();
      expect(shapes[0].index).toBe(0);
      expect(shapes[0].records).toEqual(['One two three', [303, 5]]);
      expect(shapes[0].tokens).toEqual([2, width]);
      expect(shapes[0].logits).toEqual([2, width, 304]);
      expect(shapes[0].mask[1]).toEqual([1, 1, ...new Array<number>(width - 2).fill(0)]);
      expect(shapes[0].keys).toBe(model.hookNames.length);
      expect(shapes[1].records).toEqual(['Four']);
      for (const b of seen) {
        expect(b.isDisposed).toBe(true);
        expect(b.logits.isDisposed).toBe(true);
        expect(b.cache.isDisposed).toBe(true);
      }
    });

    it.each(['left', 'right'] as const)(
      '%s padding: each prompt gets the logits and last-token DLA it has alone',
      async (side) => {
        const stacks = {
          full: (c: ActivationCache, ps: SliceInput) =>
            c.getFullResidDecomposition({ posSlice: ps, expandNeurons: true }),
        };
        const batched = await lastValueFrom(
          streamCaches(model, PROMPTS, { batchSize: 4, paddingSide: side }).pipe(
            useBatch(async (b) => ({
              logits: (await b.logits.array()) as number[][][],
              lengths: b.lengths,
              width: b.tokens.shape[1],
              layers: (await lastTokenDla(b).array()) as number[][],
              full: (await lastTokenDla(b, { stack: stacks.full }).array()) as number[][],
            })),
          ),
        );
        let worst = 0;
        for (const [row, rec] of PROMPTS.entries()) {
          const { logits, cache } = await model.runWithCache(
            typeof rec.prompt === 'string' ? rec.prompt : [[...rec.prompt]],
          );
          const alone = (await logits.array()) as number[][][];
          const n = batched.lengths[row];
          expect(alone[0].length).toBe(n);
          const offset = side === 'left' ? batched.width - n : 0;
          for (let p = 0; p < n; p++)
            for (let v = 0; v < 304; v++)
              worst = Math.max(worst, Math.abs(alone[0][p][v] - batched.logits[row][offset + p][v]));
          // TransformerLens's way for one prompt: posSlice -1.
          const answer = rec.answer as number;
          const refs = {
            layers: cache.logitAttrs(cache.decomposeResid({ posSlice: -1 }), answer, { posSlice: -1 }),
            full: cache.logitAttrs(stacks.full(cache, -1), answer, { posSlice: -1 }),
          };
          for (const k of ['layers', 'full'] as const) {
            const ref = (await refs[k].array()) as number[][]; // [components, 1]
            expect(ref.length).toBe(batched[k].length);
            for (let c = 0; c < ref.length; c++)
              worst = Math.max(worst, Math.abs(ref[c][0] - batched[k][c][row]));
          }
          logits.dispose();
          cache.dispose();
        }
        expect(worst).toBeLessThan(1e-4);
      },
    );

    it('reads arrays, iterables, async iterables and Observables alike', async () => {
      const texts = ['a b', 'c', 'd e f', 'g'];
      const run = (src: Parameters<typeof streamCaches<string>>[1]): Promise<number[][]> =>
        lastValueFrom(
          streamCaches(model, src, { batchSize: 3 }).pipe(
            useBatch((b) => b.lengths as number[]),
            toArray(),
          ),
        );
      async function* gen(): AsyncGenerator<string> {
        await Promise.resolve();
        yield* texts;
      }
      const expected = await run(texts);
      expect(expected.flat()).toHaveLength(4);
      expect(await run(new Set(texts))).toEqual(expected);
      expect(await run(gen())).toEqual(expected);
      expect(await run(from(texts))).toEqual(expected);
    });

    it.each([
      ['an out-of-vocabulary id', [5, 99999], /prompt 5 \(batch 2\): .*token id 99999/],
      [
        'a prompt longer than n_ctx',
        new Array<number>(40).fill(1),
        /prompt 5 \(batch 2\): .*at most nCtx = 32/,
      ],
      [
        'an answer that is not one token',
        { prompt: 'x', answer: ' catastrophically unpredictable' },
        /prompt 5 .*not a single token/,
      ],
      ['an empty prompt', [], /prompt 5 \(batch 2\): .*expected at least one token/],
    ])(
      'ends with an error naming the prompt for %s, keeping every batch before it',
      async (_what, bad, re) => {
        const prompts: PromptInput[] = ['a', 'b', 'c', 'd', 'e', bad, 'g', 'h'];
        const got: number[] = [];
        const err = await lastValueFrom(
          streamCaches(model, prompts, { batchSize: 2, concurrency: 2 }).pipe(
            useBatch(async (b) => {
              await new Promise((r) => setTimeout(r, 1));
              got.push(...b.records.map((_, i) => b.start + i));
            }),
          ),
        ).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StreamError);
        expect((err as StreamError).promptIndex).toBe(5);
        expect((err as Error).message).toMatch(re);
        expect(got).toEqual([0, 1, 2, 3, 4]); // prompt 4, before the bad one in its batch, too
      },
    );

    it('ends with an error naming the batch when the subscriber’s work throws, and frees every tensor', async () => {
      const before = tf.memory().numTensors;
      const done: number[] = [];
      const err = await lastValueFrom(
        streamCaches(model, ['a', 'b', 'c', 'd', 'e', 'f'], { batchSize: 2, concurrency: 2 }).pipe(
          useBatch(async (b) => {
            await new Promise((r) => setTimeout(r, 1));
            if (b.index === 1) throw new Error('analysis failed');
            done.push(b.index);
          }),
        ),
      ).catch((e: unknown) => e);
      expect((err as Error).message).toBe('batch 1 (prompts 2–3): analysis failed');
      expect(done).toEqual([0]);
      expect(tf.memory().numTensors).toBe(before);
    });

    it('rejects a bad paddingSide', () => {
      expect(() => streamCaches(model, ['a'], { paddingSide: 'middle' as 'left' })).toThrow(
        /paddingSide 'middle'/,
      );
    });
  },
  WITH_WEBGPU,
);

describeBackends(
  'streamCaches memory',
  () => {
    it('keeps the tensor count flat over 60 prompts', async () => {
      const model = await HookedTransformer.fromPretrained(GPT2_TINY);
      const base = tf.memory().numTensors;
      const counts: number[] = [];
      const prompts = Array.from({ length: 60 }, (_, i) =>
        'the cat sat on a mat '.repeat(1 + (i % 4)).trim(),
      );
      const out = await lastValueFrom(
        streamCaches(model, prompts, { batchSize: 4, paddingSide: 'right' }).pipe(
          mapToLazy((b) => {
            counts.push(tf.memory().numTensors);
            return lastTokenDla(b);
          }),
          materialize(),
          toArray(),
        ),
      );
      expect(out).toHaveLength(15);
      // After the first batch (warm-up: the model's derived weights), every batch holds the same.
      expect(new Set(counts.slice(1)).size).toBe(1);
      expect(Math.max(...counts)).toBe(counts[1]);
      model.dispose();
      expect(tf.memory().numTensors).toBeLessThanOrEqual(base);
    });
  },
  WASM_AND_WEBGPU,
);
