// model.generate: greedy and seeded sampling, EOS handling, text and id forms, bad options.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { HookedTransformer, InvalidArgumentError, TokenError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { familyFolder } from '../helpers/familyGolden.js';
import { GPT2_TINY } from '../helpers/golden.js';

const tiny = (): HookedTransformer =>
  HookedTransformer.fromConfig(
    { nLayers: 2, dModel: 16, nCtx: 16, dHead: 4, dVocab: 30, initRange: 1 },
    { seed: 7 },
  );

describeBackends('generate', () => {
  it('greedy: ids in give prompt + new ids out, deterministically, as repeated argmax', async () => {
    const model = tiny();
    const prompt = [
      [1, 2, 3],
      [4, 5, 6],
    ];
    const out = await model.generate(prompt, { maxNewTokens: 4, temperature: 0 });
    expect(out.map((r) => r.length)).toEqual([7, 7]);
    expect(out.map((r) => r.slice(0, 3))).toEqual(prompt);
    expect(await model.generate(prompt, { maxNewTokens: 4, doSample: false })).toEqual(out);
    // the first new token is the argmax of the prompt's last logits
    const logits = await model.forward(prompt);
    const first = tf.tidy(() => logits.slice([0, 2, 0], [2, 1, -1]).argMax(-1).arraySync() as number[][]);
    logits.dispose();
    expect(out.map((r) => [r[3]])).toEqual(first);
    expect(prompt[0]).toEqual([1, 2, 3]); // the input is not modified
    model.dispose();
  });

  it('sampling is reproducible with a seed; topK 1 is greedy', async () => {
    const model = tiny();
    const a = await model.generate([[1, 2]], { maxNewTokens: 6, seed: 3 });
    const b = await model.generate([[1, 2]], { maxNewTokens: 6, seed: 3 });
    expect(a).toEqual(b);
    const seeds = await Promise.all(
      [4, 5, 6, 8].map((seed) => model.generate([[1, 2]], { maxNewTokens: 6, seed })),
    );
    expect(new Set(seeds.map((s) => s.join())).size).toBeGreaterThan(1);
    const greedy = await model.generate([[1, 2]], { maxNewTokens: 6, temperature: 0 });
    expect(await model.generate([[1, 2]], { maxNewTokens: 6, topK: 1, seed: 9 })).toEqual(greedy);
    expect(await model.generate([[1, 2]], { maxNewTokens: 6, topP: 1e-6, seed: 9 })).toEqual(greedy);
    model.dispose();
  });

  it('stopAtEos pads finished sequences with EOS and stops when all are done', async () => {
    const model = tiny();
    const prompt = [
      [1, 2, 3],
      [7, 8, 9],
    ];
    const free = await model.generate(prompt, { maxNewTokens: 5, temperature: 0 });
    const eos = free[0][3];
    expect(free[1][3]).not.toBe(eos); // the test needs row 1 to go on
    const stopped = await model.generate(prompt, { maxNewTokens: 5, temperature: 0, eosTokenId: eos });
    expect(stopped[0]).toEqual([1, 2, 3, eos, eos, eos, eos, eos].slice(0, stopped[0].length));
    expect(stopped[1].slice(0, 4)).toEqual(free[1].slice(0, 4));
    const both = await model.generate([prompt[0]], { maxNewTokens: 5, temperature: 0, eosTokenId: eos });
    expect(both).toEqual([[1, 2, 3, eos]]);
    const noStop = await model.generate([prompt[0]], {
      maxNewTokens: 5,
      temperature: 0,
      eosTokenId: eos,
      stopAtEos: false,
    });
    expect(noStop).toEqual([free[0]]);
    model.dispose();
  });

  it('a string in gives text out: the prompt (without BOS) and its continuation', async () => {
    const gpt2 = await HookedTransformer.fromPretrained(GPT2_TINY);
    const text = await gpt2.generate('The cat sat', { maxNewTokens: 3, temperature: 0, stopAtEos: false });
    expect(text.startsWith('The cat sat')).toBe(true);
    const promptIds = tf.tidy(() => gpt2.toTokens('The cat sat').arraySync());
    const ids = await gpt2.generate(promptIds, {
      maxNewTokens: 3,
      temperature: 0,
      stopAtEos: false,
    });
    expect(text).toBe(gpt2.toString(ids[0].slice(1)));
    gpt2.dispose();
    // GPT-NeoX prepends no BOS by default
    const neox = await HookedTransformer.fromPretrained(familyFolder('neox'));
    const out = await neox.generate('The cat', { maxNewTokens: 2, temperature: 0, stopAtEos: false });
    expect(out.startsWith('The cat')).toBe(true);
    neox.dispose();
  });

  it('rejects bad options and prompts that would outgrow n_ctx', async () => {
    const model = tiny();
    await expect(model.generate([[1]], { maxNewTokens: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(model.generate([[1]], { temperature: -0.5 })).rejects.toThrow(/temperature -0\.5 given/);
    await expect(model.generate([[1]], { topK: 0 })).rejects.toThrow(/topK 0 given/);
    await expect(model.generate([[1]], { topP: 1.5 })).rejects.toThrow(/topP 1\.5 given/);
    await expect(model.generate([[1, 2, 3]], { maxNewTokens: 14 })).rejects.toThrow(TokenError);
    await expect(model.generate([[1, 2, 3]], { maxNewTokens: 14 })).rejects.toThrow(/at most nCtx = 16/);
    await expect(model.generate('hello')).rejects.toThrow(/needs a tokenizer/);
    model.dispose();
  });
});
