// generate's key/value cache: the same tokens as re-running the whole sequence on every family
// (learned positions, rotary, grouped-query, ALiBi, local attention, soft caps), with and without
// left padding; each step's logits against the full forward's; hooks on the new positions only;
// the cache freed on every way out.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { HookedTransformer, InvalidArgumentError } from '../../src/index.js';
import { generate, type GenerateOptions, type GenerativeModel } from '../../src/model/generate.js';
import { runIncremental } from '../../src/model/incrementalPass.js';
import { KeyValueCache } from '../../src/model/kvCache.js';
import { runPass, type CompiledHooks } from '../../src/model/runPass.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { FAMILIES, familyFolder } from '../helpers/familyGolden.js';
import { GPT2_TINY, maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-4;
const MODELS = [['gpt2', GPT2_TINY] as const, ...FAMILIES.map((f) => [f, familyFolder(f)] as const)];

/** Two prompts of ids below `vocab`; the second is left-padded by `pad` positions (mask 0 there). */
function prompts(vocab: number, pad: number): { ids: number[][]; mask: number[][] } {
  const row = (seed: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => (seed * 31 + i * 17 + 3) % vocab);
  const len = 6;
  return {
    ids: [row(1, len), [...Array.from({ length: pad }, () => 0), ...row(2, len - pad)]],
    mask: [Array.from({ length: len }, () => 1), Array.from({ length: len }, (_, i) => (i < pad ? 0 : 1))],
  };
}

function passModel(model: HookedTransformer, hooks: CompiledHooks = []): GenerativeModel {
  return { cfg: model.cfg, params: new Map(model.stateDict()), tokenizer: model.tokenizer, hooks };
}

/** Generates with and without the cache and expects the same ids; returns them. */
async function bothWays(
  model: GenerativeModel,
  ids: number[][],
  options: GenerateOptions,
): Promise<number[][]> {
  const cached = await generate(model, ids, { ...options, useKvCache: true });
  const full = await generate(model, ids, { ...options, useKvCache: false });
  expect(cached).toEqual(full);
  return cached;
}

describeBackends(
  'generate with a KV cache against re-running the sequence',
  () => {
    for (const [family, folder] of MODELS) {
      it(`${family}: same ids greedy and sampled, with and without left padding; step logits within ${TOL}`, async () => {
        const model = await HookedTransformer.fromPretrained(folder);
        const m = passModel(model);
        const base = { maxNewTokens: 5, stopAtEos: false } as const;
        const { ids, mask } = prompts(model.cfg.dVocab, 2);
        const greedy = await bothWays(m, ids, { ...base, temperature: 0 });
        expect(greedy.map((r) => r.length)).toEqual([11, 11]);
        await bothWays(m, ids, { ...base, seed: 5, topK: 10, topP: 0.9, temperature: 0.7 });
        const padded = await bothWays(m, ids, { ...base, temperature: 0, attentionMask: mask });
        await bothWays(m, ids, { ...base, seed: 7, attentionMask: mask });
        // The padded row continues as it would alone: padding is invisible and positions count real tokens.
        const alone = await generate(m, [ids[1].slice(2)], { ...base, temperature: 0 });
        expect(padded[1].slice(2)).toEqual(alone[0]);

        // Each incremental step's logits against the full forward's at that position.
        const seq = padded;
        const seqMask = mask.map((r) => [...r, ...Array.from({ length: 5 }, () => 1)]);
        const full = (await runPass(m, seq, { attentionMask: seqMask }, []))!;
        const cache = new KeyValueCache(model.cfg, 2);
        try {
          const first = runIncremental(
            m,
            seq.map((r) => r.slice(0, 6)),
            cache,
            [],
            mask,
          );
          const want = tf.slice(full, [0, 0, 0], [2, 6, -1]);
          expect(await maxAbsDiff(first, want)).toBeLessThan(TOL);
          tf.dispose([first, want]);
          for (let p = 6; p < seq[0].length; p++) {
            const step = runIncremental(
              m,
              seq.map((r) => [r[p]]),
              cache,
              [],
            );
            const at = tf.slice(full, [0, p, 0], [2, 1, -1]);
            expect(await maxAbsDiff(step, at), `position ${p}`).toBeLessThan(TOL);
            tf.dispose([step, at]);
          }
          expect(cache.length).toBe(seq[0].length);
        } finally {
          cache.dispose();
          full.dispose();
          model.dispose();
        }
      });
    }
  },
  WASM_ONLY,
);

describeBackends('generate with a KV cache: hooks, stopping, errors', () => {
  const tiny = (): HookedTransformer =>
    HookedTransformer.fromConfig(
      { nLayers: 2, dModel: 16, nCtx: 16, dHead: 4, dVocab: 30, initRange: 1, useAttnResult: true },
      { seed: 7 },
    );

  it('hooks fire at every hook point of every step, on the new positions only', async () => {
    const model = tiny();
    const seen: { name: string; shape: number[] }[] = [];
    const record: CompiledHooks = [[() => true, (a, { name }) => void seen.push({ name, shape: a.shape })]];
    await generate(
      passModel(model, record),
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { maxNewTokens: 3, temperature: 0 },
    );
    const perStep = model.hookNames.length;
    expect(seen.length).toBe(3 * perStep);
    expect(seen.slice(0, perStep).map((s) => s.name)).toEqual(model.hookNames);
    const shape = (step: number, name: string): number[] | undefined =>
      seen.slice(step * perStep, (step + 1) * perStep).find((s) => s.name === name)?.shape;
    expect(shape(0, 'blocks.0.hook_resid_pre')).toEqual([2, 3, 16]);
    expect(shape(0, 'blocks.1.attn.hook_pattern')).toEqual([2, 4, 3, 3]);
    for (const step of [1, 2]) {
      expect(shape(step, 'hook_embed')).toEqual([2, 1, 16]);
      expect(shape(step, 'hook_pos_embed')).toEqual([2, 1, 16]);
      expect(shape(step, 'blocks.1.attn.hook_k')).toEqual([2, 1, 4, 4]);
      expect(shape(step, 'blocks.1.attn.hook_result')).toEqual([2, 1, 4, 16]);
      expect(shape(step, 'blocks.0.attn.hook_attn_scores')).toEqual([2, 4, 1, 3 + step]);
      expect(shape(step, 'blocks.1.attn.hook_pattern')).toEqual([2, 4, 1, 3 + step]);
      expect(shape(step, 'ln_final.hook_scale')).toEqual([2, 1, 1]);
    }
    model.dispose();
  });

  it('a patching hook changes the tokens the same way with and without the cache', async () => {
    const model = tiny();
    const prompt = [
      [1, 2, 3],
      [9, 8, 7],
    ];
    const free = await bothWays(passModel(model), prompt, { maxNewTokens: 6, temperature: 0 });
    const ablate: CompiledHooks = [
      [(n) => n === 'blocks.1.attn.hook_v' || n === 'blocks.0.hook_mlp_out', (a) => tf.zerosLike(a)],
    ];
    const patched = await bothWays(passModel(model, ablate), prompt, { maxNewTokens: 6, temperature: 0 });
    expect(patched).not.toEqual(free);
    model.dispose();
  });

  it('stopAtEos and sampling behave as without the cache', async () => {
    const model = tiny();
    const m = passModel(model);
    const prompt = [
      [1, 2, 3],
      [7, 8, 9],
    ];
    const free = await bothWays(m, prompt, { maxNewTokens: 5, temperature: 0 });
    const eos = free[0][3];
    const stopped = await bothWays(m, prompt, { maxNewTokens: 5, temperature: 0, eosTokenId: eos });
    expect(stopped[0].slice(3).every((t) => t === eos)).toBe(true);
    const a = await bothWays(m, [[1, 2]], { maxNewTokens: 8, seed: 3, topK: 5 });
    expect(await model.generate([[1, 2]], { maxNewTokens: 8, seed: 3, topK: 5 })).toEqual(a);
    model.dispose();
  });

  it('frees the cache when a hook throws mid-generation, and rejects a bad mask or option', async () => {
    const model = tiny();
    let calls = 0;
    const failing: CompiledHooks = [
      [
        (n) => n === 'blocks.1.hook_resid_mid',
        () => {
          if (++calls === 3) throw new Error('hook failed');
        },
      ],
    ];
    await expect(generate(passModel(model, failing), [[1, 2]], { maxNewTokens: 5 })).rejects.toThrow(
      'hook failed',
    );
    expect(calls).toBe(3);
    await expect(model.generate([[1, 2]], { attentionMask: [[1]] })).rejects.toThrow(
      /attentionMask: given 1 rows of lengths 1; expected \[1\]\[2\]/,
    );
    await expect(model.generate([[1, 2]], { attentionMask: [[1, 2]] })).rejects.toThrow(InvalidArgumentError);
    await expect(model.generate([[1, 2]], { useKvCache: 'yes' as unknown as boolean })).rejects.toThrow(
      /useKvCache yes given/,
    );
    const cache = new KeyValueCache(model.cfg, 1);
    expect(() => runIncremental(passModel(model), [[1], [2]], cache, [])).toThrow(
      /expected 1, the KV cache's batch/,
    );
    expect(() => runIncremental(passModel(model), [[1, 2]], cache, [], [[1, 3]])).toThrow(
      /expected \[1\]\[2\] of 0 \(padding\) \/ 1 \(token\)/,
    );
    // A failed pass frees the cache, which then refuses to run.
    expect(() => runIncremental(passModel(model), [[1]], cache, [])).toThrow(/was disposed/);
    cache.dispose();
    model.dispose();
  });
});
