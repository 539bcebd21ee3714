// Streams take `truncate` as runWithCache does: a text prompt longer than n_ctx is cut to its first
// n_ctx tokens, and without it the error's suggestion (`truncate: true`) is one the stream accepts.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { StreamError } from '../../src/errors.js';
import { streamCaches } from '../../src/stream/streamCaches.js';
import { streamDla, type DlaLine } from '../../src/stream/streamDla.js';
import { useBatch } from '../../src/stream/useBatch.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';

// far more than the fixture's n_ctx (32) tokens
const LONG = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

describeBackends(
  'streams with truncate',
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(GPT2_TINY);
    });
    afterAll(() => model.dispose());

    it('streamCaches cuts a long text prompt to n_ctx tokens, as runWithCache({ truncate: true })', async () => {
      const [got] = await lastValueFrom(
        streamCaches(model, [LONG], { truncate: true }).pipe(
          useBatch(async (b) => ({ tokens: await b.tokens.array(), logits: await b.logits.array() })),
          toArray(),
        ),
      );
      const { logits, cache } = await model.runWithCache(LONG, { truncate: true });
      cache.dispose();
      const tokens = model.toTokens(LONG, { truncate: true });
      expect(got.tokens).toEqual(await tokens.array());
      expect(got.tokens[0]).toHaveLength(model.cfg.nCtx);
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.tensor(got.logits), logits))));
      expect((await diff.data())[0]).toBeLessThan(1e-4);
      tf.dispose([logits, tokens, diff]);
    });

    it('without truncate a long prompt ends the stream with an error whose suggestion the stream takes', async () => {
      const err = await lastValueFrom(streamCaches(model, ['short', LONG]).pipe(toArray())).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StreamError);
      expect((err as Error).message).toMatch(/prompt 1 .*at most nCtx = 32.*\(or truncate: true\)/s);
      // token ids are never cut, with truncate or without
      const ids = new Array<number>(40).fill(1);
      const idErr = await lastValueFrom(streamCaches(model, [ids], { truncate: true }).pipe(toArray())).catch(
        (e: unknown) => e,
      );
      expect((idErr as Error).message).toMatch(/40 positions; expected at most nCtx = 32/);
    });

    it('streamDla passes truncate on, and both reject an unknown option', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lazylens-truncate-'));
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, `${JSON.stringify({ prompt: LONG, answer: 5 })}\n`);
      const out = join(dir, 'out.jsonl');
      await expect(streamDla(model, input, out, { components: 'layers' })).rejects.toThrow(
        /or truncate: true/,
      );
      const table = await streamDla(model, input, out, { components: 'layers', truncate: true });
      expect(table.prompts).toBe(1);
      const line = JSON.parse(readFileSync(out, 'utf8').trim()) as DlaLine;
      expect(line.position).toBe(model.cfg.nCtx - 1);
      expect(() => streamCaches(model, [LONG], { truncat: true } as never)).toThrow(
        /streamCaches: unknown option 'truncat'.*Did you mean 'truncate'\?/,
      );
      await expect(streamDla(model, input, out, { topk: 3 } as never)).rejects.toThrow(
        /streamDla: unknown option 'topk'.*Did you mean 'topK'\?/,
      );
    });
  },
  WASM_ONLY,
);
