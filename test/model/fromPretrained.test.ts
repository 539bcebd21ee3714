import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CheckpointError, ConfigError, HookedTransformer, TokenError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

describeBackends('HookedTransformer.fromPretrained', () => {
  it('loads a Hugging Face folder with processing, and without', async () => {
    const processed = await HookedTransformer.fromPretrained(GPT2_TINY);
    const raw = await HookedTransformer.fromPretrainedNoProcessing(GPT2_TINY);
    expect(processed.cfg.normalizationType).toBe('LNPre');
    expect(raw.cfg.normalizationType).toBe('LN');
    expect(raw.cfg.modelName).toBe('gpt2-tiny');
    const tokens = goldenTensor(await golden('raw'), 'tokens');
    const want = goldenTensor(await golden('processed'), 'logits');
    const got = await processed.forward(tokens);
    expect(await maxAbsDiff(got, want)).toBeLessThan(1e-4);
    tf.dispose([tokens, want, got]);
    processed.dispose();
    raw.dispose();
  });

  it('runs on text with TransformerLens token helpers', async () => {
    const model = await HookedTransformer.fromPretrained(GPT2_TINY);
    expect(model.toStrTokens('The cat sat')).toEqual(['<|endoftext|>', 'The', ' cat', ' sat']);
    expect(model.toSingleToken(' cat')).toBe(
      model.toStrTokens(' cat', { prependBos: false }).length === 1 ? 284 : -1,
    );
    expect(() => model.toSingleToken(' cats sat')).toThrow(TokenError);
    const toks = model.toTokens(['The cat sat', 'The dog']);
    expect(toks.shape).toEqual([2, 4]);
    expect(model.toString(await toks.array())).toEqual([
      '<|endoftext|>The cat sat',
      '<|endoftext|>The dog<|endoftext|>',
    ]);
    // a tensor is refused with the way to read it: the library never reads synchronously
    expect(() => model.toString(toks as never)).toThrow(/read it first with `await tokens.array\(\)`/);
    // a text prompt gives the same logits as its tokens
    const a = await model.forward('The cat sat on the mat.');
    const all = goldenTensor(await golden('raw'), 'tokens');
    const first = all.slice([0, 0], [1, 8]);
    const b = await model.forward(first);
    expect(await maxAbsDiff(a, b)).toBeLessThan(1e-5);
    tf.dispose([toks, a, b, all, first]);
    model.dispose();
  });

  it('gives each left-padded prompt the logits it has alone', async () => {
    const model = await HookedTransformer.fromPretrained(GPT2_TINY);
    const prompts = ['The cat sat on the mat.', 'The dog ran'];
    const batch = await model.forward(prompts, { paddingSide: 'left' });
    const alone = await model.forward(prompts[1]);
    const n = alone.shape[1] ?? 0;
    const width = batch.shape[1] ?? 0;
    const tail = tf.tidy(() => batch.slice([1, width - n, 0], [1, n, -1]));
    expect(await maxAbsDiff(tail, alone)).toBeLessThan(1e-4);
    tf.dispose([batch, alone, tail]);
    model.dispose();
  });

  it('names what is wrong with a bad model name or folder', async () => {
    await expect(HookedTransformer.fromPretrained('no-such-model')).rejects.toThrow(
      /No model 'no-such-model': not a shipped model name, a folder or a llama2\.c \.bin file/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'lazylens-'));
    await expect(HookedTransformer.fromPretrained(empty)).rejects.toThrow(/config\.json/);
    const bin = join(empty, 'stories.bin');
    writeFileSync(bin, new Uint8Array(8));
    // a .bin is read as a llama2.c checkpoint, and this one is too short for a header
    await expect(HookedTransformer.fromPretrained(bin)).rejects.toThrow(CheckpointError);
    await expect(HookedTransformer.fromPretrained(bin)).rejects.toThrow(
      /stories\.bin: file has 8 bytes; expected at least 28/,
    );
    await expect(HookedTransformer.fromPretrained(join(empty, 'notes.txt'))).rejects.toThrow(ConfigError);
  });
});
