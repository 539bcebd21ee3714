import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import {
  BadLayerError,
  BatchDimError,
  CheckpointError,
  ConfigError,
  HookedTransformer,
  TokenError,
  UnknownKeyError,
  makeConfig,
  type StateDict,
} from '../../src/index.js';
import { expectedParamShapes } from '../../src/core/stateDict.js';
import { describeBackends } from '../helpers/backends.js';

const CFG = makeConfig({ nLayers: 2, dModel: 16, nCtx: 8, dHead: 4, dVocab: 23 });
const TOKENS = [
  [1, 2, 3, 4, 5],
  [5, 4, 3, 2, 1],
];

/** Random parameters with norm weights and biases far from 1 and 0, so processing has work to do. */
function randomParams(seed: number): StateDict {
  const sd: StateDict = new Map();
  let i = 0;
  for (const [name, shape] of expectedParamShapes(CFG)) {
    const s = seed * 100 + i++;
    const t = name.endsWith('.w')
      ? tf.randomUniform(shape, 0.5, 1.5, 'float32', s)
      : tf.randomNormal(shape, 0, 0.3, 'float32', s);
    sd.set(name, t);
  }
  return sd;
}

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

describeBackends('HookedTransformer', () => {
  it('weight processing leaves the log-softmax of the logits unchanged', async () => {
    const raw = HookedTransformer.fromStateDict(CFG, randomParams(3));
    const processed = HookedTransformer.fromStateDict(
      CFG,
      randomParams(3),
      HookedTransformer.DEFAULT_PROCESSING,
    );
    expect(processed.cfg.normalizationType).toBe('LNPre');
    expect(processed.stateDict().has('blocks.0.ln1.w')).toBe(false);
    const a = await raw.forward(TOKENS);
    const b = await processed.forward(TOKENS);
    const [la, lb] = [tf.logSoftmax(a), tf.logSoftmax(b)];
    expect(await maxAbsDiff(la, lb)).toBeLessThan(1e-4);
    // the logits themselves differ (centerUnembed shifts them), so the test can fail
    expect(await maxAbsDiff(a, b)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, la, lb]);
    raw.dispose();
    processed.dispose();
  });

  it('patching one head with a hook changes the output only downstream of it', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(4));
    const { logits: clean, cache } = await model.runWithCache([TOKENS[0]]);
    const patched = await model.runWithHooks([TOKENS[1]], {
      fwdHooks: [
        [
          'blocks.1.attn.hook_z',
          (z) => {
            // head 2 of the corrupted run takes the clean run's value
            const src = cache.get('blocks.1.attn.hook_z');
            const head = tf.range(0, 4).equal(2).reshape([1, 1, 4, 1]);
            return tf.where(tf.broadcastTo(head, z.shape), src, z);
          },
        ],
      ],
    });
    const corrupt = await model.forward([TOKENS[1]]);
    expect(await maxAbsDiff(patched, corrupt)).toBeGreaterThan(1e-4);
    // replacing every head with the clean values at the last block's z reproduces... only the z path;
    // residual inputs still differ, so patched ≠ clean as well
    expect(await maxAbsDiff(patched, clean)).toBeGreaterThan(1e-4);
    tf.dispose([clean, patched, corrupt]);
    cache.dispose();
    model.dispose();
  });

  it('stopAtLayer returns the residual stream entering that block', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(5));
    const { cache, logits } = await model.runWithCache(TOKENS);
    const resid = await model.forward(TOKENS, { stopAtLayer: 1 });
    expect(await maxAbsDiff(resid, cache.get('blocks.1.hook_resid_pre'))).toBe(0);
    const neg = await model.forward(TOKENS, { stopAtLayer: -1 });
    expect(await maxAbsDiff(neg, resid)).toBe(0);
    const { cache: partial, logits: r2 } = await model.runWithCache(TOKENS, { stopAtLayer: 1 });
    expect(partial.has('blocks.1.hook_resid_pre')).toBe(false);
    expect(partial.has('blocks.0.hook_resid_post')).toBe(true);
    tf.dispose([resid, neg, logits, r2]);
    cache.dispose();
    partial.dispose();
    model.dispose();
  });

  it('loss is the mean next-token cross-entropy', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(6));
    const { logits, loss } = await model.forward(TOKENS, { returnType: 'both' });
    const lpT = tf.logSoftmax(logits);
    const lp = (await lpT.array()) as number[][][];
    lpT.dispose();
    let total = 0;
    for (let b = 0; b < 2; b++) for (let p = 0; p < 4; p++) total -= lp[b][p][TOKENS[b][p + 1]];
    expect((await loss.data())[0]).toBeCloseTo(total / 8, 4);
    const only = await model.forward(TOKENS, { returnType: 'loss' });
    expect((await only.data())[0]).toBeCloseTo(total / 8, 4);
    tf.dispose([logits, loss, only]);
    model.dispose();
  });

  it('the loss masks padding as TransformerLens; lossPerToken; runWithCache takes returnType', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(9));
    const ids = [
      [0, 0, 3, 4, 5],
      [1, 2, 3, 4, 5],
    ];
    const attentionMask = [
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
    ];
    const logits = await model.forward(ids, { attentionMask });
    const lpT = tf.logSoftmax(logits);
    const lp = (await lpT.array()) as number[][][];
    tf.dispose([logits, lpT]);
    // A prediction counts when its position and the next are real tokens: 2 + 4 of them.
    const want: number[][] = ids.map((row, b) =>
      row
        .slice(0, -1)
        .map((_, p) => (attentionMask[b][p] && attentionMask[b][p + 1] ? -lp[b][p][row[p + 1]] : 0)),
    );
    const mean = want.flat().reduce((a, x) => a + x, 0) / 6;
    const loss = await model.forward(ids, { attentionMask, returnType: 'loss' });
    expect((await loss.data())[0]).toBeCloseTo(mean, 4);
    const perToken = await model.forward(ids, { attentionMask, returnType: 'loss', lossPerToken: true });
    expect(perToken.shape).toEqual([2, 4]);
    const got = (await perToken.array()) as number[][];
    for (let b = 0; b < 2; b++) for (let p = 0; p < 4; p++) expect(got[b][p]).toBeCloseTo(want[b][p], 4);
    const cached = await model.runWithCache(ids, {
      attentionMask,
      returnType: 'loss',
      namesFilter: 'blocks.0.hook_resid_pre',
    });
    expect((await cached.loss.data())[0]).toBeCloseTo(mean, 4);
    expect(cached.cache.has('blocks.0.hook_resid_pre')).toBe(true);
    const both = await model.runWithCache(ids, { returnType: 'both', namesFilter: [] });
    expect(both.logits.shape).toEqual([2, 5, 23]);
    expect(both.loss.shape).toEqual([]);
    tf.dispose([loss, perToken, cached.loss, both.logits, both.loss]);
    cached.cache.dispose();
    both.cache.dispose();
    model.dispose();
  });

  it('an unknown option is an error naming it and the accepted keys, at every entry point', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(10));
    const bad = { returnTyp: 'loss' } as never;
    await expect(model.forward(TOKENS, bad)).rejects.toThrow(
      /forward: unknown option 'returnTyp' given; expected one of .*'returnType'.*Did you mean 'returnType'/,
    );
    await expect(model.runWithCache(TOKENS, bad)).rejects.toThrow(
      /runWithCache: unknown option 'returnTyp'.*'posSlice'/,
    );
    await expect(model.runWithHooks(TOKENS, bad)).rejects.toThrow(
      /runWithHooks: unknown option 'returnTyp'.*'fwdHooks'/,
    );
    await expect(model.generate([[1, 2]], { maxTokens: 3 } as never)).rejects.toThrow(
      /generate: unknown option 'maxTokens'.*'maxNewTokens'/,
    );
    await expect(
      HookedTransformer.fromPretrained('induction-2l', { fold_ln: false } as never),
    ).rejects.toThrow(/fromPretrained: unknown option 'fold_ln'.*Did you mean 'foldLn'/);
    expect(() => HookedTransformer.fromConfig(CFG, { sead: 1 } as never)).toThrow(
      /fromConfig: unknown option 'sead'; expected one of 'seed', 'tokenizer'|fromConfig: unknown option 'sead' given; expected one of 'seed', 'tokenizer'/,
    );
    expect(() => HookedTransformer.fromConfig(CFG, null as never)).toThrow(
      /options given as null; expected an object/,
    );
    model.dispose();
  });

  it('namesFilter, posSlice (an integer keeps the axis) and removeBatchDim shape the cache', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(7));
    const { cache, logits } = await model.runWithCache([TOKENS[0]], {
      namesFilter: ['blocks.1.hook_resid_pre', 'blocks.0.attn.hook_z', 'blocks.0.attn.hook_pattern'],
      posSlice: -1,
      removeBatchDim: true,
    });
    expect([...cache.keys()]).toEqual([
      'blocks.0.attn.hook_pattern',
      'blocks.0.attn.hook_z',
      'blocks.1.hook_resid_pre',
    ]);
    expect(cache.hasBatchDim).toBe(false);
    // As TransformerLens: an integer posSlice keeps the position axis (one position).
    expect(cache.get('z0').shape).toEqual([1, 4, 4]);
    expect(cache.get('pattern0').shape).toEqual([4, 1, 5]);
    expect(cache.get(['resid_pre', -1]).shape).toEqual([1, 16]);
    const { cache: full, logits: l2 } = await model.runWithCache([TOKENS[0]]);
    const last = tf.tidy(() => full.get('blocks.1.hook_resid_pre').gather([4], 1).reshape([1, 16]));
    expect(await maxAbsDiff(last, cache.get(['resid_pre', 1]))).toBe(0);
    tf.dispose([logits, l2, last]);
    cache.dispose();
    full.dispose();
    model.dispose();
  });

  it('accumulatedBias and tokensToResidualDirections follow TransformerLens', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(8));
    const bias = model.accumulatedBias(2, false, true);
    const manual = tf.tidy(() =>
      tf.addN(
        [0, 1].flatMap((l) => [
          model.getParam(`blocks.${l}.attn.b_O`),
          model.getParam(`blocks.${l}.mlp.b_out`),
        ]),
      ),
    );
    expect(await maxAbsDiff(bias, manual)).toBeLessThan(1e-6);
    const mid = model.accumulatedBias(1, true, false);
    const manualMid = tf.add(model.getParam('blocks.0.attn.b_O'), model.getParam('blocks.1.attn.b_O'));
    expect(await maxAbsDiff(mid, manualMid)).toBeLessThan(1e-6);
    const dirs = model.tokensToResidualDirections([[3, 4]]);
    expect(dirs.shape).toEqual([1, 2, 16]);
    const col = tf.tidy(() => model.W_U.slice([0, 4], [16, 1]).reshape([16]));
    const got = tf.tidy(() => dirs.slice([0, 1, 0], [1, 1, 16]).reshape([16]));
    expect(await maxAbsDiff(col, got)).toBe(0);
    expect(model.W_Q.shape).toEqual([2, 4, 16, 4]);
    expect(model.b_out.shape).toEqual([2, 16]);
    expect(() => model.accumulatedBias(3)).toThrow(BadLayerError);
    tf.dispose([bias, manual, mid, manualMid, dirs, col, got]);
    model.dispose();
  });

  it('a hook returning a disposed tensor, or ids where floats are expected, is a clear error', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(11));
    const gone = tf.zeros([1, 5, 16]);
    gone.dispose();
    await expect(
      model.runWithHooks([TOKENS[0]], { fwdHooks: [['blocks.0.hook_resid_pre', () => gone]] }),
    ).rejects.toThrow(/hook at 'blocks.0.hook_resid_pre' returned a disposed tensor; expected a live tensor/);
    const ints = tf.zeros([1, 5, 16], 'int32');
    await expect(
      model.runWithHooks([TOKENS[0]], { fwdHooks: [['blocks.0.hook_resid_pre', () => ints]] }),
    ).rejects.toThrow(/hook at 'blocks.0.hook_resid_pre' returned dtype int32; expected float32/);
    const bools = tf.zeros([1, 5, 16], 'bool');
    await expect(
      model.runWithHooks([TOKENS[0]], { fwdHooks: [['blocks.0.hook_resid_pre', () => bools]] }),
    ).rejects.toThrow(/returned dtype bool; expected float32/);
    tf.dispose([ints, bools]);
    model.dispose();
  });

  it('input of no accepted kind, and non-finite logits in generate, are clear errors', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(12));
    const kinds =
      /expected text, texts, token ids \[pos\], rows of token ids \[batch\]\[pos\] or an int32 tensor/;
    await expect(model.forward(null as never)).rejects.toThrow(kinds);
    await expect(model.forward(5 as never)).rejects.toThrow(/given a number/);
    await expect(model.forward({ ids: [1] } as never)).rejects.toThrow(/given an object/);
    await expect(model.runWithCache(undefined as never)).rejects.toThrow(/given undefined/);
    model.dispose();
    const params = randomParams(13);
    params.get('unembed.b_U')?.dispose();
    params.set('unembed.b_U', tf.fill([23], NaN));
    const broken = HookedTransformer.fromStateDict(CFG, params);
    await expect(broken.generate([[1, 2]], { maxNewTokens: 1, temperature: 0 })).rejects.toThrow(
      /logits are not finite \(NaN or ±Infinity\) at step 0, row 0/,
    );
    broken.dispose();
  });

  it('rejects bad input with clear errors and leaks nothing', async () => {
    const model = HookedTransformer.fromStateDict(CFG, randomParams(9));
    await expect(model.runWithCache(TOKENS, { namesFilter: 'blocks.0.hook_resid_pree' })).rejects.toThrow(
      /Unknown hook name in namesFilter 'blocks.0.hook_resid_pree'. Did you mean 'blocks.0.hook_resid_pre'/,
    );
    await expect(
      model.runWithHooks(TOKENS, { fwdHooks: [['blocks.9.hook_z', () => undefined]] }),
    ).rejects.toThrow(UnknownKeyError);
    await expect(model.forward([[1, 23]])).rejects.toThrow(
      /token id 23 at position 1 is out of range; expected an integer in \[0, 23\)/,
    );
    await expect(model.forward([])).rejects.toThrow(TokenError);
    await expect(model.forward([[]])).rejects.toThrow(TokenError);
    await expect(model.forward([[...Array(9).keys()]])).rejects.toThrow(
      /9 positions; expected at most nCtx = 8/,
    );
    await expect(model.forward('text')).rejects.toThrow(/needs a tokenizer/);
    await expect(model.forward(TOKENS, { stopAtLayer: 3 })).rejects.toThrow(BadLayerError);
    await expect(model.runWithCache(TOKENS, { removeBatchDim: true })).rejects.toThrow(BatchDimError);
    await expect(
      model.runWithHooks(TOKENS, { fwdHooks: [['blocks.0.hook_resid_pre', () => tf.zeros([1, 2, 3])]] }),
    ).rejects.toThrow(/returned shape \[1, 2, 3\]; expected \[2, 5, 16\]/);
    await expect(
      model.runWithHooks(TOKENS, {
        fwdHooks: [
          [
            'blocks.0.hook_resid_pre',
            () => {
              throw new Error('boom');
            },
          ],
        ],
      }),
    ).rejects.toThrow('boom');
    model.dispose();
  });

  it('rejects a state dict with a missing or misshapen parameter, freeing it', () => {
    const sd = randomParams(10);
    sd.get('blocks.1.attn.W_Q')?.dispose();
    sd.delete('blocks.1.attn.W_Q');
    expect(() => HookedTransformer.fromStateDict(CFG, sd)).toThrow(
      /'blocks.1.attn.W_Q' is missing; expected shape \[4, 16, 4\]/,
    );
    const sd2 = randomParams(11);
    sd2.get('embed.W_E')?.dispose();
    sd2.set('embed.W_E', tf.zeros([22, 16]));
    expect(() => HookedTransformer.fromStateDict(CFG, sd2)).toThrow(CheckpointError);
    expect(() => HookedTransformer.fromConfig({ nLayers: 1, dModel: 8, nCtx: 4, dHead: 2 })).toThrow(
      ConfigError,
    );
  });
});
