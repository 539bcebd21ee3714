// OV/QK circuits and composition scores against dense PyTorch (scripts/goldens/make_circuits_golden.py),
// their invariances, the shapes they allocate, and the shipped model's known circuit.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allCompositionScores,
  compositionScores,
  FactoredMatrix,
  HookedTransformer,
  InvalidArgumentError,
  OV,
  QK,
} from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { HAS_SHIPPED } from '../cli/helpers.js';
import { g, maxDiff, maxEigDiff } from './circuitsGolden.js';

const TOL = 1e-4;

describeBackends('OV, QK and composition scores (gpt2-tiny golden)', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    model = await HookedTransformer.fromPretrained(GPT2_TINY);
    // The stacked weights are built on first use and owned by the model: build them outside the leak checks.
    void [model.W_Q, model.W_K, model.W_V, model.W_O];
  });
  afterAll(() => model.dispose());

  it('OV = W_V W_O and QK = W_Q W_Kᵀ per layer and head', async () => {
    for (const [name, make] of [
      ['ov', OV],
      ['qk', QK],
    ] as const) {
      const fm = make(model);
      expect(fm.shape).toEqual([2, 4, 64, 64]);
      expect(fm.mdim).toBe(16);
      const [ab, gold] = [fm.AB(), await g(name)];
      expect(await maxDiff(ab, gold), name).toBeLessThan(TOL);
      tf.dispose([ab, gold]);
      fm.dispose();
    }
  });

  it('singular values, norms and eigenvalues match dense PyTorch', async () => {
    for (const [name, make] of [
      ['ov', OV],
      ['qk', QK],
    ] as const) {
      const fm = make(model);
      const S = await fm.S();
      const goldS = await g(`${name}.svals`);
      expect(await maxDiff(S, goldS), `${name} S`).toBeLessThan(TOL);
      const norm = fm.norm();
      const goldN = await g(`${name}.norm`);
      expect(await maxDiff(norm, goldN), `${name} norm`).toBeLessThan(TOL);
      const e = await fm.eigenvalues();
      const [re, im] = [await g(`${name}.eig.real`), await g(`${name}.eig.imag`)];
      expect(await maxEigDiff(e.real, e.imag, re, im), `${name} eig`).toBeLessThan(TOL);
      tf.dispose([S, goldS, norm, goldN, e.real, e.imag, re, im]);
      fm.dispose();
    }
  });

  it('allCompositionScores matches the dense Q/K/V tables, zero unless the left layer is earlier', async () => {
    for (const mode of ['Q', 'K', 'V'] as const) {
      const s = await allCompositionScores(model, mode);
      expect(s.shape).toEqual([2, 4, 2, 4]);
      const gold = await g(`comp.${mode}`);
      expect(await maxDiff(s, gold), mode).toBeLessThan(TOL);
      const data = (await s.array()) as number[][][][];
      expect(data[1][0][0][0]).toBe(0);
      expect(data[0][0][0][1]).toBe(0);
      expect(data[0][2][1][3]).toBeGreaterThan(0);
      tf.dispose([s, gold]);
    }
  });

  it('composition scores do not depend on the chunking, on rescaling, or on how a product is factored', async () => {
    const base = await allCompositionScores(model, 'K');
    const tiny = await allCompositionScores(model, 'K', { maxChunkElements: 1 });
    expect(await maxDiff(tiny, base)).toBeLessThan(1e-6);
    // compositionScores over every pair (TL's broadcast_dims) agrees where the layers are ordered.
    const ov = OV(model);
    const qk = QK(model);
    const qkT = qk.T();
    const pairs = await compositionScores(ov, qkT);
    expect(pairs.shape).toEqual([2, 4, 2, 4]);
    const masked = tf.tidy(() => tf.mul(pairs, tf.tensor([0, 1, 0, 0], [2, 1, 2, 1])));
    expect(await maxDiff(masked, base)).toBeLessThan(1e-5);
    // Scaling either side, or refactoring A·B as (A·M)(M⁻¹·B), leaves the scores unchanged.
    const scaled = ov.mul(7.5);
    const m = tf.tidy(() => tf.add(tf.eye(16), tf.mul(0.1, tf.randomNormal([16, 16], 0, 1, 'float32', 3))));
    const refactored = await refactor(qkT, m);
    const other = await compositionScores(scaled, refactored);
    expect(await maxDiff(other, pairs)).toBeLessThan(1e-4);
    // Elementwise pairing (broadcastDims false) gives the diagonal of the pairwise table.
    const [ov0, qk1] = [ov.index(0), qkT.index(1)];
    const diag = await compositionScores(ov0, qk1, { broadcastDims: false });
    const want = tf.tidy(() =>
      tf.stack([0, 1, 2, 3].map((h) => pairs.slice([0, h, 1, h], [1, 1, 1, 1]).reshape([]))),
    );
    expect(await maxDiff(diag, want)).toBeLessThan(1e-5);
    tf.dispose([base, tiny, pairs, masked, other, m, diag, want]);
    for (const f of [ov, qk, qkT, scaled, refactored, ov0, qk1]) f.dispose();
  });

  it('rejects bad modes, options and matrices that do not chain', async () => {
    await expect(allCompositionScores(model, 'X' as 'Q')).rejects.toThrow(/expected 'Q', 'K' or 'V'/);
    await expect(allCompositionScores(model, 'Q', { chunk: 3 } as object)).rejects.toThrow(
      /unknown option 'chunk'/,
    );
    await expect(allCompositionScores(model, 'Q', { maxChunkElements: 0 })).rejects.toThrow(
      InvalidArgumentError,
    );
    const a = tf.zeros([5, 2]);
    const b = tf.zeros([2, 3]);
    const fm = new FactoredMatrix(a, b);
    await expect(compositionScores(fm, fm)).rejects.toThrow(/columns \(3\) to equal right's rows \(5\)/);
    fm.dispose();
    tf.dispose([a, b]);
  });
});

/** The same product factored differently: (A·M)(M⁻¹·B). */
async function refactor(fm: FactoredMatrix, m: tf.Tensor): Promise<FactoredMatrix> {
  const inv = await invert(m);
  const [a, b] = tf.tidy((): tf.Tensor[] => [tf.matMul(fm.A, m), tf.matMul(inv, fm.B)]);
  inv.dispose();
  const out = new FactoredMatrix(a, b);
  tf.dispose([a, b]);
  return out;
}

/** Gauss–Jordan inverse on the host (test helper). */
async function invert(m: tf.Tensor): Promise<tf.Tensor> {
  const n = m.shape[0];
  const a = (await m.array()) as number[][];
  const inv = a.map((_, i) => a.map((__, j) => (i === j ? 1 : 0)));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    [inv[c], inv[p]] = [inv[p], inv[c]];
    const d = a[c][c];
    for (let j = 0; j < n; j++) {
      a[c][j] /= d;
      inv[c][j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r][c];
      for (let j = 0; j < n; j++) {
        a[r][j] -= f * a[c][j];
        inv[r][j] -= f * inv[c][j];
      }
    }
  }
  return tf.tensor2d(inv);
}

describeBackends(
  'composition scores never form a d_model × d_model matrix',
  () => {
    it('allocates no [.., d_model, d_model] tensor and stays within its chunk bound', async () => {
      // d_model 36 is no multiple of d_head 8, so only a dense OV, QK or their product could be 36 × 36.
      const cfg = { nLayers: 3, dModel: 36, nHeads: 4, dHead: 8, nCtx: 8, dVocab: 11, attnOnly: true };
      const model = HookedTransformer.fromConfig(cfg, { seed: 4 });
      try {
        for (const mode of ['Q', 'K', 'V'] as const) {
          let scores: tf.Tensor | undefined;
          const info = await tf.profile(async () => {
            scores = await allCompositionScores(model, mode, { maxChunkElements: 256 });
            return scores;
          });
          const shapes = info.kernels.flatMap((k) => k.outputShapes);
          expect(shapes.length).toBeGreaterThan(10);
          const square = shapes.filter((s) => s.length >= 2 && s.at(-1) === 36 && s.at(-2) === 36);
          expect(square, mode).toEqual([]);
          // Each pairwise block holds at most 256 floats (4 × 4 heads of 8 × 8 would be 1024 per layer pair).
          const blocks = info.kernels.filter((k) => k.name === 'BatchMatMul').flatMap((k) => k.outputShapes);
          for (const s of blocks)
            expect(
              s.reduce((p, d) => p * d, 1),
              `${mode} ${s.join('x')}`,
            ).toBeLessThanOrEqual(36 * 8 * 12);
          // The dense reference, for the values (small enough to form here).
          const dense = denseScores(model, mode);
          expect(await maxDiff(scores as tf.Tensor, dense)).toBeLessThan(TOL);
          tf.dispose([scores, dense]);
        }
      } finally {
        model.dispose();
      }
    });
  },
  WASM_ONLY,
);

/** ‖OV_i R_j‖ / (‖OV_i‖ ‖R_j‖) with the matrices formed densely, masked to earlier → later layers. */
function denseScores(model: HookedTransformer, mode: 'Q' | 'K' | 'V'): tf.Tensor {
  return tf.tidy(() => {
    const ov = tf.matMul(model.W_V, model.W_O); // [L, H, d, d]
    const qk = tf.matMul(model.W_Q, model.W_K, false, true);
    const right = mode === 'Q' ? qk : mode === 'K' ? tf.transpose(qk, [0, 1, 3, 2]) : ov;
    const [L, H, d] = ov.shape;
    const l = ov.reshape([L * H, 1, d, d]);
    const r = right.reshape([1, L * H, d, d]);
    const prod = tf.matMul(tf.broadcastTo(l, [L * H, L * H, d, d]), tf.broadcastTo(r, [L * H, L * H, d, d]));
    const fro = (t: tf.Tensor): tf.Tensor => tf.sqrt(tf.sum(tf.square(t), [-2, -1]));
    const s = tf.div(fro(prod), tf.mul(fro(l), fro(r))).reshape([L, H, L, H]);
    const mask = tf.tensor4d(
      Array.from({ length: L }, (_, a) => [Array.from({ length: L }, (__, b) => [a < b ? 1 : 0])]),
      [L, 1, L, 1],
    );
    return tf.mul(s, mask);
  });
}

describeBackends(
  'induction-2l: the previous-token → induction circuit by K-composition',
  () => {
    let model: HookedTransformer;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained('induction-2l');
      void [model.W_Q, model.W_K, model.W_V, model.W_O];
    });
    afterAll(() => model.dispose());

    it.skipIf(!HAS_SHIPPED)(
      'layer-0 previous-token heads (L0H1, L0H2) K-compose most with the layer-1 induction heads (L1H2, L1H3)',
      async () => {
        const tables: Record<string, number[][][][]> = {};
        for (const mode of ['Q', 'K', 'V'] as const) {
          const t = await allCompositionScores(model, mode);
          tables[mode] = (await t.array()) as number[][][][];
          t.dispose();
        }
        const k = tables.K;
        const prev = [1, 2];
        const other = [0, 3];
        for (const h1 of [2, 3]) {
          // Each induction head's two strongest K-composition sources are the previous-token heads …
          const sources = [0, 1, 2, 3].sort((a, b) => k[0][b][1][h1] - k[0][a][1][h1]);
          expect(sources.slice(0, 2).sort(), `L1H${h1}`).toEqual(prev);
          for (const h0 of prev) {
            // … by a wide margin (about twice the others' scores on this model) …
            for (const o of other)
              expect(k[0][h0][1][h1], `L0H${h0} vs L0H${o} → L1H${h1}`).toBeGreaterThan(1.5 * k[0][o][1][h1]);
            // … and through the key, not the query or value.
            expect(k[0][h0][1][h1]).toBeGreaterThan(2 * tables.Q[0][h0][1][h1]);
            expect(k[0][h0][1][h1]).toBeGreaterThan(2 * tables.V[0][h0][1][h1]);
          }
        }
        // The table's largest K-composition comes from a previous-token head.
        const cells = k[0].flatMap((row, h0) => row[1].map((s, h1) => ({ h0, h1, s })));
        cells.sort((a, b) => b.s - a.s);
        expect(prev).toContain(cells[0].h0);
      },
    );
  },
  WASM_ONLY,
);
