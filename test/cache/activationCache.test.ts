import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { DisposedError, PlanOptions, type ExecStats } from '../../graph/index.js';
import {
  type ActivationCache,
  BadLayerError,
  BatchDimError,
  HookedTransformer,
  InvalidArgumentError,
  TokenError,
  UnknownKeyError,
} from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, maxAbsDiff } from '../helpers/golden.js';

const PROMPTS = ['The cat sat on the mat.', 'The dog ran on the'];

describeBackends('ActivationCache', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
  });
  afterAll(() => model.dispose());

  async function run(input: string | string[] = PROMPTS): Promise<ActivationCache> {
    const { cache, logits } = await model.runWithCache(input);
    logits.dispose();
    return cache;
  }

  it('reads keys as TransformerLens does: full names, shorthand, tuples with negative layers', async () => {
    const cache = await run();
    expect(cache.get('blocks.1.attn.hook_z')).toBe(cache.get('z1'));
    expect(cache.get(['resid_pre', -1])).toBe(cache.get('blocks.1.hook_resid_pre'));
    expect(cache.get(['scale', 0, 'ln1'])).toBe(cache.get('blocks.0.ln1.hook_scale'));
    expect(cache.get('scale')).toBe(cache.get('ln_final.hook_scale'));
    expect(cache.size).toBe([...cache.keys()].length);
    expect(String(cache)).toMatch(/^ActivationCache with keys \['hook_embed', 'hook_pos_embed', /);
    expect(() => cache.get('blocks.0.hook_resid_pree')).toThrow(
      /Unknown cache key 'blocks.0.hook_resid_pree'. Did you mean 'blocks.0.hook_resid_pre'/,
    );
    expect(() => cache.get(['resid_pre', 2])).toThrow(BadLayerError);
    expect(() => cache.get(['resid_pre', -3])).toThrow(
      /Layer -3 given for 'resid_pre'; expected an integer in \[-2, 1\]/,
    );
    cache.dispose();
  });

  it('sum identities: heads + b_O = attn_out; full decomposition = resid_pre', async () => {
    const cache = await run();
    const heads = cache
      .stackHeadResults({ layer: 1 })
      .sum(0)
      .add(model.getParam('blocks.0.attn.b_O'))
      .tensor();
    const attnOut = cache.get(['attn_out', 0]);
    expect(await maxAbsDiff(heads, attnOut)).toBeLessThan(1e-4);
    const full = cache.getFullResidDecomposition({ layer: 1 }).sum(0).tensor();
    expect(await maxAbsDiff(full, cache.get(['resid_pre', 1]))).toBeLessThan(1e-4);
    const mid = cache
      .getFullResidDecomposition({ layer: 1, mlpInput: true, expandNeurons: false })
      .sum(0)
      .tensor();
    expect(await maxAbsDiff(mid, cache.get(['resid_mid', 1]))).toBeLessThan(1e-4);
    tf.dispose([heads, full, mid]);
    cache.dispose();
  });

  it('fuses the full per-neuron logit attribution: working memory far below the stack it never builds', async () => {
    const cache = await run();
    const full = cache.getFullResidDecomposition({ expandNeurons: true });
    const ids = [284, 283, 281, 260, 285, 13, 0, 0];
    const attrs = cache.logitAttrs(full, [ids, ids]);
    const stackBytes = full.shape.reduce((a, b) => a * b, 1) * 4;
    const stats: ExecStats = { peakBytes: 0, steps: 0 };
    const planned = attrs.tensor({ stats });
    // The answer alone is stack / d_model (d_model = 64 here) and a concat holds its parts and its
    // result at once, so on this model we bound the working memory beyond the answer.
    expect(stats.peakBytes - planned.size * 4).toBeLessThan(stackBytes / 25);
    // and it equals the naive plan (materialize the stack, then dot)
    const naive = attrs.tensor({ plan: PlanOptions.none() });
    expect(await maxAbsDiff(planned, naive)).toBeLessThan(1e-4);
    expect(attrs.labels?.slice(0, 2)).toEqual(['L0H0', 'L0H1']);
    expect(attrs.labels?.at(-1)).toBe('bias');
    tf.dispose([planned, naive]);
    cache.dispose();
  });

  it('at d_model 256 the whole materialization peaks below stack / 50', async () => {
    const wide = HookedTransformer.fromConfig(
      { nLayers: 2, dModel: 256, dHead: 32, nHeads: 8, nCtx: 16, dVocab: 50 },
      { seed: 3 },
    );
    const tokens = [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [8, 7, 6, 5, 4, 3, 2, 1],
    ];
    const { cache, logits } = await wide.runWithCache(tokens);
    const full = cache.getFullResidDecomposition();
    const attrs = cache.logitAttrs(full, tokens);
    const stats: ExecStats = { peakBytes: 0, steps: 0 };
    const t = attrs.tensor({ stats });
    expect(stats.peakBytes).toBeLessThan((full.shape.reduce((a, b) => a * b, 1) * 4) / 50);
    tf.dispose([t, logits]);
    cache.dispose();
    wide.dispose();
  });

  it('returnLabels gives [lazy, labels]; computeHeadResults memoizes beside the dict', async () => {
    const cache = await run();
    const [stack, labels] = cache.accumulatedResid({ returnLabels: true, inclMid: true });
    expect(labels).toEqual(['0_pre', '0_mid', '1_pre', '1_mid', 'final_post']);
    expect(stack.labels).toEqual(labels);
    const before = [...cache.keys()];
    const lazy = cache.stackHeadResults();
    const fresh = lazy.tensor();
    cache.computeHeadResults();
    cache.computeHeadResults(); // idempotent
    expect([...cache.keys()]).toEqual(before);
    const memo = cache.stackHeadResults().tensor();
    expect(await maxAbsDiff(fresh, memo)).toBeLessThan(1e-6);
    tf.dispose([fresh, memo]);
    cache.dispose();
  });

  it('mlpInput at full depth changes nothing, as TransformerLens (ln_final reads the stream)', async () => {
    const cache = await run();
    for (const layer of [undefined, null, -1, 2]) {
      const [lens, labels] = cache.accumulatedResid({
        layer,
        mlpInput: true,
        applyLn: true,
        returnLabels: true,
      });
      expect(labels).toEqual(['0_pre', '1_pre', 'final_post']);
      const plain = cache.accumulatedResid({ layer, applyLn: true }).tensor();
      const got = lens.tensor();
      expect(await maxAbsDiff(got, plain)).toBe(0);
      tf.dispose([got, plain]);
    }
    const [mlp, mlpLabels] = cache.decomposeResid({ mlpInput: true, mode: 'mlp', returnLabels: true });
    expect(mlpLabels).toEqual(['embed', 'pos_embed', '0_mlp_out', '1_mlp_out']);
    const plain = cache.decomposeResid({ mode: 'mlp', applyLn: true }).tensor();
    const got = cache.decomposeResid({ mlpInput: true, mode: 'mlp', applyLn: true }).tensor();
    expect(await maxAbsDiff(got, plain)).toBe(0);
    const mlpT = mlp.tensor();
    expect(mlpT.shape).toEqual([4, 2, 8, 64]);
    // With attention included there is no block n attention output to add (TL fails on the key).
    expect(() => cache.decomposeResid({ mlpInput: true })).toThrow(/attention output of block 2/);
    expect(() => cache.decomposeResid({ mlpInput: true, mode: 'attn' })).toThrow(
      /decomposeResid: mlpInput at layer 2 with mode 'attn'.*expected a layer below 2, or mode 'mlp'/,
    );
    // The full decomposition would need block n's heads and MLP input: an error at every depth ≥ n.
    for (const layer of [undefined, -1, 2]) {
      expect(() => cache.getFullResidDecomposition({ layer, mlpInput: true })).toThrow(
        /getFullResidDecomposition: mlpInput at layer 2 needs block 2's MLP input.*expected a layer below 2\./,
      );
    }
    tf.dispose([got, plain, mlpT]);
    cache.dispose();
  });

  it('keys, values and items are arrays (re-iterable); iterating a cache yields names, as TransformerLens', async () => {
    const cache = await run('The cat');
    const keys = cache.keys();
    expect([...keys]).toEqual([...keys]);
    expect(keys.length).toBe(cache.size);
    expect([...cache]).toEqual(keys);
    const values = cache.values();
    expect([...values].length).toBe([...values].length);
    const items = cache.items();
    expect(items.map(([n]) => n)).toEqual(keys);
    expect([...items].length).toBe(keys.length);
    expect(items[0][1]).toBe(cache.get(keys[0]));
    // A second removeBatchDim warns and returns an equivalent cache, as TransformerLens.
    const one = cache.removeBatchDim();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const again = one.removeBatchDim();
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
    expect(again.hasBatchDim).toBe(false);
    expect(again.keys()).toEqual(one.keys());
    expect(await maxAbsDiff(again.get(['resid_pre', 0]), one.get(['resid_pre', 0]))).toBe(0);
    for (const c of [cache, one, again]) c.dispose();
  });

  it('a stack sliced to other positions than posSlice says which argument disagrees', async () => {
    const cache = await run();
    const last = cache.decomposeResid({ posSlice: -1 });
    expect(() => cache.logitAttrs(last, ' cat')).toThrow(
      /logitAttrs: the stack has batch-and-position dims \[2\] but the cached ln_final scale, at posSlice undefined, has \[2, 8\].*pass the stack's posSlice.*\{ posSlice: -1 \}/,
    );
    expect(() => cache.applyLnToStack(last, { layer: 1 })).toThrow(
      /applyLnToStack: the stack has batch-and-position dims \[2\]/,
    );
    const full = cache.decomposeResid();
    expect(() => cache.logitAttrs(full, ' cat', { posSlice: -1 })).toThrow(/at posSlice -1, has \[2\]/);
    const ok = cache.logitAttrs(last, ' cat', { posSlice: -1 }).tensor();
    expect(ok.shape).toEqual([6, 2]);
    ok.dispose();
    cache.dispose();
  });

  it('removeBatchDim and applySliceToBatchDim return new caches', async () => {
    const cache = await run();
    expect(() => cache.removeBatchDim()).toThrow(/batch size 2, expected 1/);
    const one = cache.applySliceToBatchDim(1);
    expect(one.hasBatchDim).toBe(false);
    expect(one.get(['resid_pre', 0]).shape).toEqual([8, 64]);
    expect(cache.get(['resid_pre', 0]).shape).toEqual([2, 8, 64]);
    expect(() => one.applySliceToBatchDim(null)).toThrow(BatchDimError);
    const two = cache.applySliceToBatchDim([1, 0]);
    expect(two.get(['resid_pre', 0]).shape).toEqual([2, 8, 64]);
    const lens = one.accumulatedResid({ applyLn: true, posSlice: -1 }).tensor();
    expect(lens.shape).toEqual([3, 64]);
    tf.dispose([lens]);
    for (const c of [cache, one, two]) c.dispose();
  });

  it('rejects bad input with clear errors and leaks nothing', async () => {
    const cache = await run();
    const stack = cache.decomposeResid();
    expect(() => cache.logitAttrs(stack, ' cat sat')).toThrow(TokenError);
    expect(() => cache.logitAttrs(stack, [1, 2], { incorrectTokens: 3 })).toThrow(
      /same shape; given \[2\] and \[\]/,
    );
    expect(() => cache.logitAttrs(stack, 304)).toThrow(
      /Token id 304 given; expected an integer in \[0, 303\]/,
    );
    expect(() => cache.accumulatedResid({ layer: 3 })).toThrow(BadLayerError);
    expect(() => cache.getNeuronResults(2)).toThrow(/layer 2 given; expected a block index in \[0, 1\]/);
    expect(() => cache.getNeuronResults(0, { neuronSlice: 256 })).toThrow(/256/);
    expect(() => cache.stackNeuronResults(1, { neuronSlice: [1, 300] })).toThrow(/300/);
    expect(() => cache.decomposeResid({ mode: 'heads' as never })).toThrow(InvalidArgumentError);
    expect(() => cache.stackActivation('resid_pree')).toThrow(UnknownKeyError);
    cache.dispose();
    expect(() => stack.tensor()).toThrow(DisposedError);
    expect(() => cache.decomposeResid()).toThrow(/disposed/);
  });
});
