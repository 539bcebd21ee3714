// testPrompt (TL's test_prompt): ranks and probabilities against a direct forward pass, TL's printout,
// the shipped model's repeats, and the CLI's test-prompt command.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer, InvalidArgumentError, testPrompt } from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { cli, cliJson, FIXTURE, HAS_SHIPPED } from '../cli/helpers.js';
import type { TestPromptResult } from '../../src/index.js';

describeBackends('testPrompt (gpt2-tiny)', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
  });
  afterAll(() => model.dispose());

  it("gives each answer token's rank, logit and probability from the forward pass", async () => {
    const r = await testPrompt(model, 'hello world', 'foo bar', { topK: 4 });
    expect(r.promptTokens[0]).toBe('<|endoftext|>');
    expect(r.answerTokens[0].join('')).toBe(' foo bar');
    const promptLen = r.promptTokens.length;
    const tokens = model.toTokens('hello world');
    const ids = (await tokens.array())[0];
    tokens.dispose();
    const answerIds = r.positions.map((p) => p.answers[0].id);
    expect(r.positions).toHaveLength(r.answerTokens[0].length);
    const logits = await model.forward([[...ids, ...answerIds]]);
    const probs = tf.softmax(logits);
    const [l, p] = [(await logits.array()) as number[][][], (await probs.array()) as number[][][]];
    tf.dispose([logits, probs]);
    r.positions.forEach((pos, i) => {
      const at = promptLen + i - 1;
      const a = pos.answers[0];
      expect(a.logit).toBeCloseTo(l[0][at][a.id], 4);
      expect(a.prob).toBeCloseTo(p[0][at][a.id], 5);
      expect(a.rank).toBe(p[0][at].filter((x) => x > p[0][at][a.id]).length);
      expect(pos.top).toHaveLength(4);
      expect(pos.top[0].prob).toBeCloseTo(Math.max(...p[0][at]), 5);
      expect(pos.top.map((t) => t.rank)).toEqual([0, 1, 2, 3]);
    });
  });

  it('prints as TL: tokenization, the answer line, the top-k table and the ranks', async () => {
    const lines: string[] = [];
    await testPrompt(model, 'hello world', 'foo', {
      topK: 2,
      printDetails: true,
      print: (s) => lines.push(s),
    });
    expect(lines[0]).toMatch(/^Tokenized prompt: \['<\|endoftext\|>', 'he', /);
    expect(lines[1]).toBe("Tokenized answers: [[' f', 'o', 'o']]");
    expect(lines[2]).toMatch(
      /^Performance on answer token:\nRank: \d+ {1,8}Logit: [ -]?\d+\.\d\d Prob: {0,2}\d+\.\d\d% Token: \| f\|$/,
    );
    expect(lines[3]).toMatch(/^Top 0th token\. Logit: [ -]?\d+\.\d\d Prob: {0,2}\d+\.\d\d% Token: \|.*\|$/);
    expect(lines.at(-1)).toMatch(
      /^Ranks of the answer tokens: \[\(' f', \d+\), \('o', \d+\), \('o', \d+\)\]$/,
    );
    const quiet: string[] = [];
    await testPrompt(model, 'hello world', 'foo', { print: (s) => quiet.push(s) });
    expect(quiet).toEqual([]);
  });

  it('compares several answers on their first token, and keeps the answer as given without the space', async () => {
    const r = await testPrompt(model, 'hello world', ['foo', ' bar'], { topK: 1 });
    expect(r.positions).toHaveLength(1);
    expect(r.positions[0].answers.map((a) => a.token)).toEqual([' f', ' b']);
    const raw = await testPrompt(model, 'hello', 'foo', { prependSpaceToAnswer: false, topK: 0 });
    expect(raw.answerTokens[0][0]).toBe('f');
    expect(raw.positions[0].top).toEqual([]);
  });

  it('rejects unknown options, no answer and a bad topK', async () => {
    await expect(testPrompt(model, 'hi', 'x', { top_k: 3 } as object)).rejects.toThrow(
      /unknown option 'top_k'/,
    );
    await expect(testPrompt(model, 'hi', [])).rejects.toThrow(InvalidArgumentError);
    await expect(testPrompt(model, 'hi', 'x', { topK: -1 })).rejects.toThrow(/non-negative integer/);
  });
});

describeBackends(
  'test-prompt on induction-2l and the CLI',
  () => {
    it.skipIf(!HAS_SHIPPED)('ranks the repeated word first', async () => {
      const model = await HookedTransformer.fromPretrained('induction-2l');
      try {
        const r = await testPrompt(model, 'cat dog sun red big cat dog sun', 'red', { topK: 3 });
        expect(r.positions[0].answers[0]).toMatchObject({ token: 'red', rank: 0 });
        expect(r.positions[0].answers[0].prob).toBeGreaterThan(0.5);
        expect(r.positions[0].top[0].token).toBe('red');
      } finally {
        model.dispose();
      }
    });

    it("lazylens test-prompt prints TL's table and --json the structured result", async () => {
      const text = await cli(
        'test-prompt',
        '--model',
        FIXTURE,
        '--prompt',
        'hello world',
        '--answer',
        'foo',
        '--top',
        '2',
      );
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/Tokenized prompt: \[/);
      expect(text.stdout).toMatch(/Top 1th token\. Logit:/);
      expect(text.stdout).toMatch(/Ranks of the answer tokens: \[\(' f', \d+\)/);
      const r = await cliJson<TestPromptResult & { answer: string }>(
        'test-prompt',
        '--model',
        FIXTURE,
        '--prompt',
        'hello world',
        '--answer',
        'foo',
        '--top',
        '2',
      );
      expect(r.answer).toBe('foo');
      expect(r.positions).toHaveLength(3);
      expect(r.positions[0].top).toHaveLength(2);
      const missing = await cli('test-prompt', '--model', FIXTURE, '--prompt', 'hello');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--answer/);
      const html = await cli(
        'test-prompt',
        '--model',
        FIXTURE,
        '--prompt',
        'hello',
        '--answer',
        'x',
        '--html',
        'x.html',
      );
      expect(html.code).toBe(2);
      expect(html.stderr).toMatch(/no HTML report/);
    });
  },
  WASM_ONLY,
);
