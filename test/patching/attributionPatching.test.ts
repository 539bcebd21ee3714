// Attribution patching: its first-order estimates against real activation patching on the shipped
// induction-2l model (they must correlate), and against an exact linear case.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivationCache } from '../../src/cache/ActivationCache.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';
import { attributionPatching } from '../../src/patching/attributionPatching.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const BOS = 355;
const HALF = 12;

/** A repeated random-word prompt and a copy whose first half is other words, from a fixed seed. */
function prompts(): { clean: number[]; corrupt: number[]; answer: number; wrong: number } {
  let s = 12345;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s % 355;
  };
  const words: number[] = [];
  while (words.length < HALF) {
    const w = next();
    if (!words.includes(w)) words.push(w);
  }
  const other: number[] = [];
  while (other.length < HALF) {
    const w = next();
    if (!words.includes(w) && !other.includes(w)) other.push(w);
  }
  // The second copy stops one word short: the model should predict words[HALF - 1] next.
  return {
    clean: [BOS, ...words, ...words.slice(0, HALF - 1)],
    corrupt: [BOS, ...other, ...words.slice(0, HALF - 1)],
    answer: words[HALF - 1],
    wrong: other[HALF - 1],
  };
}

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((x, y) => x + y, 0) / n;
  const mb = b.reduce((x, y) => x + y, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describeBackends(
  'attributionPatching on induction-2l',
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-2l');
    });
    afterAll(() => model.dispose());

    /** logit(answer) − logit(wrong) at the last position. */
    const logitDiff =
      (answer: number, wrong: number) =>
      (logits: tf.Tensor): tf.Tensor => {
        const p = logits.shape[1] ?? 0;
        const at = (id: number): tf.Tensor => tf.reshape(tf.slice(logits, [0, p - 1, id], [1, 1, 1]), []);
        return tf.sub(at(answer), at(wrong));
      };

    /**
     * Real activation patching, one patch per batch row: row i of `masks` (1 where patched)
     * selects the clean activation at `name` in a copy of the corrupted run. Returns each row's
     * change of the last-position logit difference.
     */
    async function realPatch(
      clean: ActivationCache,
      corrupt: number[],
      name: string,
      masks: tf.Tensor,
      answer: number,
      wrong: number,
      base: number,
    ): Promise<number[]> {
      const cleanAct = clean.get(name);
      const rows = masks.shape[0];
      const patch = (x: tf.Tensor): tf.Tensor => tf.add(tf.mul(cleanAct, masks), tf.mul(x, tf.sub(1, masks)));
      const logits = await model.runWithHooks(
        Array.from({ length: rows }, () => corrupt),
        {
          fwdHooks: [[name, patch]],
        },
      );
      const m = tf.tidy(() => {
        const p = logits.shape[1] ?? 0;
        const at = (id: number): tf.Tensor =>
          tf.reshape(tf.slice(logits, [0, p - 1, id], [rows, 1, 1]), [rows]);
        return tf.sub(at(answer), at(wrong));
      });
      const v = [...(await m.data())].map((x) => x - base);
      tf.dispose([logits, m, masks]);
      return v;
    }

    /** Estimates and real patching effects for resid_pre, attn_out (layer × pos) and z (layer × head). */
    async function compare(clean: number[], corrupt: number[], answer: number, wrong: number) {
      const attr = await attributionPatching(model, [clean], [corrupt], logitDiff(answer, wrong));
      const run = await model.runWithCache([clean]);
      run.logits.dispose();
      const P = clean.length;
      const { nLayers, nHeads } = model.cfg;
      const r: Record<string, number> = {};
      const base = attr.corruptMetric;
      try {
        for (const [key, hook] of [
          ['residPre', 'hook_resid_pre'],
          ['attnOut', 'hook_attn_out'],
        ] as const) {
          const real: number[] = [];
          for (let l = 0; l < nLayers; l++) {
            const masks = tf.tidy(() => tf.reshape(tf.eye(P), [P, P, 1]));
            real.push(
              ...(await realPatch(run.cache, corrupt, `blocks.${l}.${hook}`, masks, answer, wrong, base)),
            );
          }
          r[key] = pearson(((await attr[key]!.values.array()) as number[][]).flat(), real);
        }
        const real: number[] = [];
        for (let l = 0; l < nLayers; l++) {
          const masks = tf.tidy(() => tf.reshape(tf.eye(nHeads), [nHeads, 1, nHeads, 1]));
          real.push(
            ...(await realPatch(run.cache, corrupt, `blocks.${l}.attn.hook_z`, masks, answer, wrong, base)),
          );
        }
        r.zAllPos = pearson(((await attr.zAllPos!.values.array()) as number[][]).flat(), real);
        return { r, clean: attr.cleanMetric, corrupt: attr.corruptMetric };
      } finally {
        run.cache.dispose();
        attr.dispose();
      }
    }

    it('a corrupted first half: head and attention-output estimates track real patching', async () => {
      const { clean, corrupt, answer, wrong } = prompts();
      const { r, clean: cm, corrupt: xm } = await compare(clean, corrupt, answer, wrong);
      expect(cm).toBeGreaterThan(5);
      expect(xm).toBeLessThan(2);
      // Measured on wasm: attn_out r ≈ 0.87, z r ≈ 0.98. resid_pre r ≈ −0.1: patching the residual
      // stream at the two positions that matter switches an attention pattern on or off, an effect
      // no first-order estimate sees (the known limit of attribution patching).
      expect(r.attnOut).toBeGreaterThan(0.7);
      expect(r.zAllPos).toBeGreaterThan(0.9);
    });

    it('a corrupted answer token: every estimate tracks real patching', async () => {
      const { clean, answer, wrong } = prompts();
      const corrupt = clean.map((t, i) => (i === HALF ? wrong : t));
      const { r } = await compare(clean, corrupt, answer, wrong);
      // Measured on wasm: resid_pre r ≈ 0.92, attn_out r ≈ 0.999, z r ≈ 0.98.
      expect(r.residPre).toBeGreaterThan(0.8);
      expect(r.attnOut).toBeGreaterThan(0.9);
      expect(r.zAllPos).toBeGreaterThan(0.9);
    });

    it('labels its results, is zero when clean and corrupt agree, and rejects bad input', async () => {
      const { clean, answer, wrong } = prompts();
      const metric = logitDiff(answer, wrong);
      const same = await attributionPatching(model, [clean], [clean], metric, {
        activations: ['resid_pre', 'z'],
      });
      expect(same.attnOut).toBeUndefined();
      expect(same.residPre!.dims).toEqual(['layer', 'pos']);
      expect(same.residPre!.labels[0]).toEqual(['L0', 'L1']);
      expect(same.residPre!.values.shape).toEqual([2, clean.length]);
      expect(same.z!.dims).toEqual(['layer', 'pos', 'head']);
      expect(same.z!.values.shape).toEqual([2, clean.length, 4]);
      expect(same.zAllPos!.labels[1]).toEqual(['H0', 'H1', 'H2', 'H3']);
      expect(Math.max(...(await same.residPre!.values.data()).map(Math.abs))).toBe(0);
      expect(same.cleanMetric).toBeCloseTo(same.corruptMetric, 5);
      same.dispose();
      await expect(attributionPatching(model, [clean], [clean.slice(0, -1)], metric)).rejects.toThrow(
        /on the clean input and .* on the corrupted one/,
      );
      await expect(
        attributionPatching(model, [clean], [clean], metric, { activations: ['mlp_out'] }),
      ).rejects.toThrow(/no 'mlp_out' hook point/);
      await expect(
        attributionPatching(model, [clean], [clean], metric, { activation: ['z'] } as never),
      ).rejects.toThrow(/unknown option 'activation'.*Did you mean 'activations'/);
    });
  },
  WASM_ONLY,
);
