// runWithCache's finalBlockAtLastToken: the final block (and ln_final, and the logits) computed at
// each row's last real token alone. On every family fixture (grouped K/V, rotary, ALiBi, Gemma 2's
// local window and post norms, parallel blocks, GPT-2) and a right- and a left-padded batch, the
// logits and every cached activation at the last tokens agree with the whole pass, every earlier
// block's everywhere; the final block's values at other positions are each row's last-token value
// where the shortcut applies, and exact where it does not (ALiBi, a local final layer, a hook of
// the model's own there). Bad combinations are refused.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockHookNames } from '../../src/core/hookPoints.js';
import { HookedTransformer, InvalidArgumentError } from '../../src/index.js';
import { FAMILIES, familyFolder } from '../helpers/familyGolden.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { describeBackends, TEST_BACKENDS } from '../helpers/backends.js';
import { LEFT_PADDED, RIGHT_PADDED } from '../helpers/paddedBatches.js';

const { ids: TOKENS, mask: RIGHT } = RIGHT_PADDED;
const { ids: LEFT_TOKENS, mask: LEFT } = LEFT_PADDED;

/** Values of `t` [b, pos, ...] (or [b, h, pos, k] on `axis` 2) at each row's position `rows[b]`. */
async function atRows(t: tf.Tensor, rows: number[], axis: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let b = 0; b < rows.length; b++) {
    const begin = t.shape.map((_, i) => (i === 0 ? b : i === axis ? rows[b] : 0));
    const size = t.shape.map((n, i) => (i === 0 || i === axis ? 1 : n));
    const part = tf.slice(t, begin, size);
    out.push(Array.from(await part.data()));
    part.dispose();
  }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    if (got[i] === want[i]) continue; // masked scores are −∞ in both
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  expect(worst, what).toBeLessThan(2e-5 * scale);
}

const axisOf = (name: string): number => (/hook_(attn_scores|pattern)$/.test(name) ? 2 : 1);

describeBackends(
  'runWithCache finalBlockAtLastToken',
  () => {
    for (const family of FAMILIES) {
      for (const [side, tokens, mask, last] of [
        ['right', TOKENS, RIGHT, [6, 3]],
        ['left', LEFT_TOKENS, LEFT, [6, 6]],
      ] as const) {
        it(`${family}-tiny, ${side}-padded: the last tokens as the whole pass`, async () => {
          const model = await HookedTransformer.fromPretrained(familyFolder(family));
          const opts = { attentionMask: mask.map((r) => [...r]), logits: 'last' as const };
          const whole = await model.runWithCache(
            tokens.map((r) => [...r]),
            opts,
          );
          const part = await model.runWithCache(
            tokens.map((r) => [...r]),
            { ...opts, finalBlockAtLastToken: true },
          );
          const L = model.cfg.nLayers - 1;
          const final = new Set([
            ...blockHookNames(model.cfg, L),
            'ln_final.hook_scale',
            'ln_final.hook_normalized',
          ]);
          const exact =
            model.cfg.positionalEmbeddingType === 'alibi' ||
            (model.cfg.attnTypes?.[L] === 'local' && model.cfg.windowSize !== null);
          expectClose(await part.logits.data(), await whole.logits.data(), 'logits');
          expect([...part.cache.keys()]).toEqual([...whole.cache.keys()]);
          let spread = 0;
          for (const name of whole.cache.keys()) {
            const [a, b] = [part.cache.get(name), whole.cache.get(name)];
            expect(a.shape, name).toEqual(b.shape);
            if (!final.has(name) || exact) {
              expectClose(await a.data(), await b.data(), name);
              continue;
            }
            const axis = axisOf(name);
            const [got, want] = [await atRows(a, [...last], axis), await atRows(b, [...last], axis)];
            got.forEach((g, r) => expectClose(g, want[r], `${name} row ${r}`));
            // Elsewhere each row holds its last-token value (checked at position 0).
            if (a.shape[axis] > 1 && !/hook_(q|k|v|rot_q|rot_k|resid_pre)$|ln1\./.test(name)) {
              const first = await atRows(a, [0, 0], axis);
              first.forEach((g, r) => expectClose(g, got[r], `${name} row ${r} at 0`));
              spread++;
            }
          }
          if (!exact) expect(spread).toBeGreaterThan(0);
          tf.dispose([whole.logits, part.logits]);
          whole.cache.dispose();
          part.cache.dispose();
          model.dispose();
        });
      }
    }
  },
  TEST_BACKENDS,
);

describe('finalBlockAtLastToken: refusals and the full pass where a hook watches', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
  });
  afterAll(() => model.dispose());

  it('needs logits last or none, and a boolean', async () => {
    await expect(model.runWithCache([[1, 2, 3]], { finalBlockAtLastToken: true })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(model.runWithCache([[1, 2, 3]], { finalBlockAtLastToken: true })).rejects.toThrow(
      /finalBlockAtLastToken given with logits 'all'; expected logits 'last' or 'none'/,
    );
    await expect(
      model.runWithCache([[1, 2, 3]], { logits: 'last', finalBlockAtLastToken: 'yes' as unknown as boolean }),
    ).rejects.toThrow(/finalBlockAtLastToken given as string; expected a boolean/);
  });

  it('with logits none, the last tokens of the final block and ln_final as the whole pass', async () => {
    const L = model.cfg.nLayers - 1;
    const namesFilter = [`blocks.${L}.hook_mlp_out`, 'ln_final.hook_scale'];
    const whole = await model.runWithCache(TOKENS, { attentionMask: RIGHT, logits: 'none', namesFilter });
    const part = await model.runWithCache(TOKENS, {
      attentionMask: RIGHT,
      logits: 'none',
      namesFilter,
      finalBlockAtLastToken: true,
    });
    for (const name of namesFilter) {
      const [got, want] = [
        await atRows(part.cache.get(name), [6, 3], 1),
        await atRows(whole.cache.get(name), [6, 3], 1),
      ];
      got.forEach((g, r) => expectClose(g, want[r], name));
    }
    const other = await atRows(part.cache.get(namesFilter[0]), [0, 0], 1);
    const wholeOther = await atRows(whole.cache.get(namesFilter[0]), [0, 0], 1);
    expect(other[0]).not.toEqual(wholeOther[0]); // position 0 holds the last token's value
    whole.cache.dispose();
    part.cache.dispose();
  });

  it('runs in full when a hook of the model watches the final block', async () => {
    const L = model.cfg.nLayers - 1;
    const seen: number[][] = [];
    const remove = model.addHook(`blocks.${L}.hook_mlp_out`, (a) => {
      seen.push(a.shape);
    });
    try {
      const name = `blocks.${L}.hook_mlp_out`;
      const whole = await model.runWithCache(TOKENS, {
        attentionMask: RIGHT,
        logits: 'last',
        namesFilter: [name],
      });
      const part = await model.runWithCache(TOKENS, {
        attentionMask: RIGHT,
        logits: 'last',
        namesFilter: [name],
        finalBlockAtLastToken: true,
      });
      expectClose(await part.cache.get(name).data(), await whole.cache.get(name).data(), name);
      expect(seen).toEqual([
        [2, 7, model.cfg.dModel],
        [2, 7, model.cfg.dModel],
      ]);
      tf.dispose([whole.logits, part.logits]);
      whole.cache.dispose();
      part.cache.dispose();
    } finally {
      remove();
    }
  });
});
