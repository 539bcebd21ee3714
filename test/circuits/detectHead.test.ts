// detectHead against PyTorch (scripts/goldens/make_circuits_golden.py) on gpt2-tiny, and on the
// shipped induction-2l model, whose previous-token and induction heads are known.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BadLayerError,
  computeHeadAttentionSimilarityScore,
  detectHead,
  getDuplicateTokenHeadDetectionPattern,
  getInductionHeadDetectionPattern,
  getPreviousTokenHeadDetectionPattern,
  HookedTransformer,
  InvalidArgumentError,
} from '../../src/index.js';
import { WORDS } from '../../scripts/induction/words.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { HAS_SHIPPED } from '../cli/helpers.js';
import { g, maxDiff, META } from './circuitsGolden.js';

const PATTERNS = {
  previousTokenHead: getPreviousTokenHeadDetectionPattern,
  duplicateTokenHead: getDuplicateTokenHeadDetectionPattern,
  inductionHead: getInductionHeadDetectionPattern,
};

describeBackends('detectHead (gpt2-tiny golden)', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
  });
  afterAll(() => model.dispose());

  it('builds TL detection patterns', async () => {
    for (const [name, make] of Object.entries(PATTERNS)) {
      const gold = await g(`pattern.${name}`);
      const mine = tf.tensor2d(make(META.tokens));
      expect(await maxDiff(mine, gold), name).toBe(0);
      tf.dispose([gold, mine]);
    }
    expect(getInductionHeadDetectionPattern([5, 1, 2, 5, 1])).toEqual([
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0],
      [0, 1, 0, 0, 0],
      [0, 0, 1, 0, 0],
    ]);
  });

  it('scores every head as TL with both error measures and the exclusions', async () => {
    for (const c of META.detect_cases) {
      const scores = await detectHead(model, META.tokens, c.pattern, {
        errorMeasure: c.errorMeasure,
        excludeBos: c.excludeBos,
        excludeCurrentToken: c.excludeCurrentToken,
      });
      const gold = await g(c.key);
      // 'abs' rounds to 3 decimals, as TL: a value on a rounding edge may differ by one step.
      expect(await maxDiff(scores, gold), c.key).toBeLessThan(c.errorMeasure === 'abs' ? 1.01e-3 : 1e-4);
      tf.dispose([scores, gold]);
    }
  });

  it('scores only the heads asked for (the rest −1), takes an explicit pattern and a cache', async () => {
    const some = await detectHead(model, META.tokens, 'previous_token_head', { heads: [[1, 2]] });
    const all = await detectHead(model, META.tokens, 'previousTokenHead');
    const [s, a] = [await some.array(), await all.array()];
    expect(s[0]).toEqual([-1, -1, -1, -1]);
    expect(s[1][2]).toBeCloseTo(a[1][2], 6);
    const byMap = await detectHead(model, META.tokens, 'previousTokenHead', { heads: { 0: [1] } });
    expect((await byMap.array())[0][1]).toBeCloseTo(a[0][1], 6);
    const { logits, cache } = await model.runWithCache([META.tokens]);
    const explicit = await detectHead(model, META.tokens, getPreviousTokenHeadDetectionPattern(META.tokens), {
      cache,
    });
    expect(await maxDiff(explicit, all)).toBeLessThan(1e-6);
    tf.dispose([some, all, byMap, logits, explicit]);
    cache.dispose();
  });

  it('rejects unknown patterns and options, bad shapes, upper-triangular patterns and short sequences', async () => {
    await expect(detectHead(model, META.tokens, 'inductionHeads' as 'inductionHead')).rejects.toThrow(
      /given pattern 'inductionHeads'/,
    );
    await expect(
      detectHead(model, META.tokens, 'inductionHead', { exclude: true } as object),
    ).rejects.toThrow(/unknown option 'exclude'/);
    await expect(
      detectHead(model, META.tokens, 'inductionHead', { errorMeasure: 'l2' as 'mul' }),
    ).rejects.toThrow(/expected 'mul' or 'abs'/);
    await expect(detectHead(model, META.tokens, [[1]])).rejects.toThrow(/expected \[15, 15\]/);
    const upper = META.tokens.map((_, q) => META.tokens.map((__, k) => (k === q + 1 ? 1 : 0)));
    await expect(detectHead(model, META.tokens, upper)).rejects.toThrow(/lower-triangular/);
    await expect(detectHead(model, [5], 'inductionHead')).rejects.toThrow(/more than 1/);
    await expect(detectHead(model, META.tokens, 'inductionHead', { heads: [[2, 0]] })).rejects.toThrow(
      BadLayerError,
    );
    await expect(detectHead(model, META.tokens, 'inductionHead', { heads: [[0, 4]] })).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(() => computeHeadAttentionSimilarityScore([[1, 0]], [[1]])).toThrow(/square/);
  });
});

describeBackends(
  'detectHead on induction-2l',
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-2l');
    });
    afterAll(() => model.dispose());

    it.skipIf(!HAS_SHIPPED)(
      'finds the previous-token heads L0H1, L0H2 and the induction heads L1H2, L1H3',
      async () => {
        // 20 random words, then the same 20 again (a seed the training script does not use).
        let s = 20261130;
        const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
        const words = Array.from({ length: 20 }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
        const text = [...words, ...words].join(' ');
        const top2 = (row: number[]): number[] =>
          row
            .map((v, h) => [v, h])
            .sort((a, b) => b[0] - a[0])
            .slice(0, 2)
            .map(([, h]) => h)
            .sort();
        for (const errorMeasure of ['mul', 'abs'] as const) {
          const prev = await detectHead(model, text, 'previousTokenHead', { errorMeasure });
          const ind = await detectHead(model, text, 'inductionHead', { errorMeasure, excludeBos: true });
          const [p, i] = [await prev.array(), await ind.array()];
          expect(top2(p[0]), errorMeasure).toEqual([1, 2]);
          expect(top2(i[1]), errorMeasure).toEqual([2, 3]);
          // Each detected head beats every head of the other layer on its pattern.
          expect(Math.min(p[0][1], p[0][2])).toBeGreaterThan(Math.max(...p[1]));
          expect(Math.min(i[1][2], i[1][3])).toBeGreaterThan(Math.max(...i[0]));
          tf.dispose([prev, ind]);
        }
        // Several prompts: the mean of their scores (as TL).
        const short = words.slice(0, 10).join(' ');
        const many = await detectHead(model, [text, `${short} ${short}`], 'inductionHead');
        expect(top2((await many.array())[1])).toEqual([2, 3]);
        many.dispose();
      },
    );
  },
  WASM_ONLY,
);
