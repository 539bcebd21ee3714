// lastTokenDla takes a prompt without an answer from the argmax of its logits: where those are not
// finite that argmax is an arbitrary token, so it must be an error saying why, not a silent answer.
import * as tf from '@tensorflow/tfjs';
import { lastValueFrom, toArray } from 'rxjs';
import { expect, it } from 'vitest';
import { HookedTransformer, makeConfig, type StateDict } from '../../src/index.js';
import { expectedParamShapes } from '../../src/core/stateDict.js';
import { lastTokenDla } from '../../src/stream/lastTokenDla.js';
import { mapToLazy } from '../../src/stream/mapToLazy.js';
import { materialize } from '../../src/stream/materialize.js';
import { streamCaches } from '../../src/stream/streamCaches.js';
import { useBatch } from '../../src/stream/useBatch.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const CFG = makeConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 23 });

/** A model whose unembedding bias is `bias` at token 3 (0 elsewhere): non-finite logits if it is. */
function model(bias: number): HookedTransformer {
  const sd: StateDict = new Map();
  let seed = 1;
  for (const [name, shape] of expectedParamShapes(CFG)) {
    sd.set(
      name,
      name === 'unembed.b_U'
        ? tf.tensor1d(Array.from({ length: 23 }, (_, i) => (i === 3 ? bias : 0)))
        : tf.randomNormal(shape, 0, 0.3, 'float32', seed++),
    );
  }
  return HookedTransformer.fromStateDict(CFG, sd);
}

describeBackends(
  'lastTokenDla with non-finite logits',
  () => {
    it.each([NaN, Infinity])('b_U = %s: a prompt without an answer is an error naming it', async (bad) => {
      const broken = model(bad);
      const prompts = [{ prompt: [1, 2, 3], answer: 4 }, { prompt: [5, 6] }];
      const finite = await lastValueFrom(
        streamCaches(broken, prompts, { batchSize: 2 }).pipe(useBatch((b) => b.finiteLogits)),
      );
      expect(finite).toEqual([false, false]);
      const err = await lastValueFrom(
        streamCaches(broken, prompts, { batchSize: 2 }).pipe(
          mapToLazy((b) => lastTokenDla(b)),
          materialize(),
        ),
      ).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /prompt 1: the logits are not finite \(NaN or ±Infinity\) at its last token \(position 1\)/,
      );
      // with every answer given, no argmax is taken, and the attribution (of the residual stream,
      // which is finite here) is computed
      const dla = await lastValueFrom(
        streamCaches(broken, prompts, { batchSize: 2 }).pipe(
          mapToLazy((b) => lastTokenDla(b, { answers: [4, 7] })),
          materialize(),
          toArray(),
        ),
      );
      expect(dla[0].shape).toEqual([4, 2]);
      broken.dispose();
    });

    it('finite logits give each row its prediction as the answer', async () => {
      const fine = model(0);
      const answers = await lastValueFrom(
        streamCaches(
          fine,
          [
            [1, 2, 3],
            [5, 6],
          ],
          { batchSize: 2 },
        ).pipe(useBatch((b) => ({ finite: b.finiteLogits, predictions: b.predictions }))),
      );
      expect(answers.finite).toEqual([true, true]);
      expect(answers.predictions.every((p) => Number.isInteger(p) && p >= 0 && p < 23)).toBe(true);
      fine.dispose();
    });
  },
  WASM_ONLY,
);
