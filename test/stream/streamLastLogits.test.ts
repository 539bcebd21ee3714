// Streams that ask for the last token's logits only: the same predictions and attributions as a
// stream computing every position's logits, on either padding side.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { keep, streamCaches, streamDla } from '../../src/stream/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';

const PROMPTS = ['The cat sat on the', 'A dog', 'One two three four five six', 'Birds'];

describeBackends(
  "streams with logits 'last'",
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(GPT2_TINY);
    });
    afterAll(() => model.dispose());

    for (const side of ['right', 'left'] as const) {
      it(`${side} padding: each row's last-token logits and prediction, and the same cache at real positions`, async () => {
        const run = async (logits: 'all' | 'last') => {
          const meta: { last: number[]; predictions: number[] }[] = [];
          const kept = await lastValueFrom(
            streamCaches(model, PROMPTS, {
              batchSize: 3,
              paddingSide: side,
              logits,
              namesFilter: 'blocks.1.hook_resid_post',
            }).pipe(
              keep((b) => {
                meta.push({ last: [...b.lastPositions], predictions: [...b.predictions] });
                return { logits: b.logits, resid: b.cache.get('blocks.1.hook_resid_post') };
              }),
              toArray(),
            ),
          );
          return kept.map((k, i) => ({ ...k.value, meta: meta[i] }));
        };
        const full = await run('all');
        const last = await run('last');
        expect(last.map((b) => b.meta)).toEqual(full.map((b) => b.meta));
        for (const [i, f] of full.entries()) {
          const l = last[i];
          expect(l.logits.shape).toEqual([f.logits.shape[0], 1, model.cfg.dVocabOut]);
          const rows = f.meta.last;
          const [ref, got, refResid, gotResid] = tf.tidy(() => {
            const pick = (x: tf.Tensor) =>
              tf.concat(
                rows.map((p, b) => tf.slice(x, [b, p], [1, 1])),
                0,
              );
            return [pick(f.logits), l.logits, pick(f.resid), pick(l.resid)];
          });
          const diff = tf.tidy(() => [
            tf.max(tf.abs(tf.sub(ref, got))),
            tf.max(tf.abs(tf.sub(refResid, gotResid))),
          ]);
          const [dl, dr] = await Promise.all(diff.map(async (d) => (await d.data())[0]));
          expect(dl).toBeLessThan(1e-5);
          expect(dr).toBeLessThan(1e-5);
          tf.dispose([ref, refResid, gotResid, ...diff]);
        }
        tf.dispose([...full, ...last].flatMap((b) => [b.logits, b.resid]));
      });
    }

    it("streamDla reads the last token's logits only and attributes as a full-logits stream does", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'lazylens-dla-last-'));
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, PROMPTS.map((p) => JSON.stringify(p)).join('\n') + '\n');
      const lines = (path: string): unknown[] =>
        readFileSync(path, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as unknown);
      const a = await streamDla(model, input, join(dir, 'last.jsonl'), { batchSize: 3 });
      const b = await streamDla(model, input, join(dir, 'all.jsonl'), { batchSize: 3, logits: 'all' });
      expect(a.labels).toEqual(b.labels);
      for (const [i, v] of a.mean.entries()) expect(v).toBeCloseTo(b.mean[i], 5);
      const [la, lb] = [lines(join(dir, 'last.jsonl')), lines(join(dir, 'all.jsonl'))];
      expect(la.map((l) => (l as { answerId: number }).answerId)).toEqual(
        lb.map((l) => (l as { answerId: number }).answerId),
      );
    });

    it('an unknown logits value is an error', () => {
      expect(() => streamCaches(model, PROMPTS, { logits: 'none' as never })).toThrow(
        /logits 'none' given; expected 'all' or 'last'/,
      );
    });
  },
  WASM_ONLY,
);
