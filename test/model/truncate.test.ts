// Text longer than n_ctx: an error that suggests truncate (which every text entry point takes), found
// in bounded time for huge texts; with truncate the model reads the first n_ctx tokens, as TL.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer, TokenError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, maxAbsDiff } from '../helpers/golden.js';

describeBackends('truncate', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
  });
  afterAll(() => model.dispose());

  const long = 'the cat sat '.repeat(12); // 36 words: more than 32 tokens

  it('a too-long text fails suggesting truncate, which runWithCache, forward and runWithHooks accept', async () => {
    await expect(model.runWithCache(long)).rejects.toThrow(
      /has \d+ tokens; expected at most nCtx = 32 \(or truncate: true\)/,
    );
    const { logits, cache } = await model.runWithCache(long, { truncate: true, namesFilter: [] });
    expect(logits.shape).toEqual([1, 32, 304]);
    const ids = model.toTokens(long); // toTokens truncates by default, as TL
    const direct = await model.forward(ids);
    expect(await maxAbsDiff(direct, logits)).toBe(0);
    const fwd = await model.forward(long, { truncate: true });
    const hooked = await model.runWithHooks(long, { truncate: true });
    expect(await maxAbsDiff(fwd, logits)).toBe(0);
    expect(await maxAbsDiff(hooked, logits)).toBe(0);
    tf.dispose([logits, ids, direct, fwd, hooked]);
    cache.dispose();
  });

  it('a multi-megabyte text fails fast with the length error, without tokenizing it all', async () => {
    const huge = 'word '.repeat(1_000_000); // 5 MB
    const start = performance.now();
    await expect(model.forward(huge)).rejects.toThrow(TokenError);
    await expect(model.forward(huge)).rejects.toThrow(/more than nCtx = 32 tokens can hold.*truncate: true/);
    const logits = await model.forward(huge, { truncate: true });
    expect(logits.shape).toEqual([1, 32, 304]);
    logits.dispose();
    // Correctness, not speed: tokenizing 5 MB in full takes far longer than this generous bound.
    expect(performance.now() - start).toBeLessThan(20_000);
  });
});
