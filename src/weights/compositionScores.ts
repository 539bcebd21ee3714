/**
 * Composition scores between factored matrices (TransformerLens's `utils.composition_scores` and
 * `all_composition_scores`): ‖L·R‖_F / (‖L‖_F ‖R‖_F), computed from d_head-sized Gram matrices,
 * never from a d_model × d_model product.
 *
 * With L = A₁B₁ and R = A₂B₂, ‖L R‖² = tr((A₁ᵀA₁) X (B₂B₂ᵀ) Xᵀ) with X = B₁A₂ (inner × inner),
 * and ‖L‖² = Σ (A₁ᵀA₁) ∘ (B₁B₁ᵀ). TransformerLens gets the same numbers through SVDs of both sides
 * (the orthogonal factors it drops do not change Frobenius norms).
 *
 * Memory: the pairwise table is built in chunks of left × right matrices whose X blocks hold at
 * most `maxChunkElements` floats; about six such arrays are live at once, plus the right A factors
 * rearranged to [d_model, heads·d_head] (a few copies of their size: at GPT-2-small size, 28 MB
 * each) and the d_head × d_head Gram matrices.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import type { AttentionWeights } from './headCircuits.js';
import { OV, QK } from './headCircuits.js';
import type { FactoredMatrix } from './FactoredMatrix.js';
import { broadcastShapes, fmtShape, sizeOf } from './shapes.js';

/** Options of {@link compositionScores}. */
export interface CompositionScoresOptions {
  /**
   * Pair every left matrix with every right one: the result is [...left leading, ...right
   * leading] (TL's `broadcast_dims=True`, the default). False broadcasts the leading dims
   * against each other instead (pairs matrices elementwise).
   */
  broadcastDims?: boolean;
  /** Most floats in one chunk of inner × inner products (default 2²⁰, 4 MB). */
  maxChunkElements?: number;
}

/** Options of {@link allCompositionScores}. */
export interface AllCompositionScoresOptions {
  /** Most floats in one chunk of d_head × d_head products (default 2²⁰, 4 MB). */
  maxChunkElements?: number;
}

/** Q-, K- or V-composition. */
export type CompositionMode = 'Q' | 'K' | 'V';

const DEFAULT_CHUNK = 2 ** 20;

function checkOptions(options: object, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) {
      throw new InvalidArgumentError(
        `${what}: given unknown option '${k}', expected one of ${allowed.join(', ')}.`,
      );
    }
  }
}

function chunkLimit(n: number | undefined, what: string): number {
  const v = n ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(v) || v < 1) {
    throw new InvalidArgumentError(
      `${what}: given maxChunkElements ${String(n)}, expected a positive integer.`,
    );
  }
  return v;
}

/** Factors flattened over their leading dims: a [N, l, k], b [N, k, r]. */
interface Flat {
  a: tf.Tensor3D;
  b: tf.Tensor3D;
}

function flatten(fm: FactoredMatrix): Flat {
  const n = sizeOf(fm.shape.slice(0, -2));
  return {
    a: fm.A.reshape([n, fm.ldim, fm.mdim]),
    b: fm.B.reshape([n, fm.mdim, fm.rdim]),
  };
}

/** Squared Frobenius norms [N] of flattened factored matrices, from their Gram matrices. */
function squaredNorms(f: Flat): tf.Tensor1D {
  return tf.tidy(() =>
    tf.sum(tf.mul(tf.matMul(f.a, f.a, true, false), tf.matMul(f.b, f.b, false, true)), [1, 2]),
  );
}

/**
 * Squared norms ‖L_i R_j‖² for left matrices i ∈ [i0, i1) and right matrices j ∈ [j0, j1),
 * written into `out` (row-major [nLeft, nRight] over the full index ranges).
 */
class PairwiseNorms {
  private readonly leftRows: tf.Tensor2D; // B₁ as [N_l·k₁, d]
  private readonly leftGram: tf.Tensor3D; // A₁ᵀA₁ [N_l, k₁, k₁]
  private readonly rightCols: tf.Tensor2D; // A₂ as [d, N_r·k₂]
  private readonly rightGram: tf.Tensor3D; // B₂B₂ᵀ [N_r, k₂, k₂]
  readonly k1: number;
  readonly k2: number;

  constructor(left: Flat, right: Flat) {
    this.k1 = left.b.shape[1];
    this.k2 = right.a.shape[2];
    const d = left.b.shape[2];
    const nr = right.a.shape[0];
    [this.leftRows, this.leftGram, this.rightCols, this.rightGram] = tf.tidy(
      (): [tf.Tensor2D, tf.Tensor3D, tf.Tensor2D, tf.Tensor3D] => [
        left.b.reshape<tf.Tensor2D>([-1, d]),
        tf.matMul(left.a, left.a, true, false),
        right.a.transpose([1, 0, 2]).reshape<tf.Tensor2D>([d, nr * this.k2]),
        tf.matMul(right.b, right.b, false, true),
      ],
    );
  }

  /** The right factors A₂ of matrices [j0, j0+r) as [d, r·k₂] (the caller disposes it). */
  rightSlice(j0: number, r: number): tf.Tensor2D {
    return this.rightCols.slice([0, j0 * this.k2], [-1, r * this.k2]);
  }

  /** ‖L_i R_j‖² [c, r] for i ∈ [i0, i0+c), j ∈ [j0, j0+r); `a2` is {@link rightSlice}(j0, r). */
  block(i0: number, c: number, j0: number, r: number, a2: tf.Tensor2D): tf.Tensor2D {
    const { k1, k2 } = this;
    return tf.tidy(() => {
      const b1 = this.leftRows.slice([i0 * k1, 0], [c * k1, -1]);
      const x = tf.matMul(b1, a2).reshape([c, k1, r * k2]); // X_ij = B₁ᵢA₂ⱼ, each k₁ × k₂
      const p = tf.matMul(this.leftGram.slice([i0, 0, 0], [c, -1, -1]), x).reshape([c, k1, r, k2]);
      const q = tf
        .matMul(
          x
            .reshape([c, k1, r, k2])
            .transpose([2, 0, 1, 3])
            .reshape([r, c * k1, k2]),
          this.rightGram.slice([j0, 0, 0], [r, -1, -1]),
        )
        .reshape([r, c, k1, k2])
        .transpose([1, 2, 0, 3]);
      // tr(G₁ X G₂ Xᵀ) = Σ (G₁X) ∘ (XG₂) for symmetric G₂.
      return tf.sum<tf.Tensor2D>(tf.mul(p, q), [1, 3]);
    });
  }

  /** Chunk sizes (left, right) so that one X block holds at most `limit` floats. */
  chunks(nLeft: number, nRight: number, limit: number): [number, number] {
    const per = this.k1 * this.k2;
    const r = Math.max(1, Math.min(nRight, Math.floor(limit / per)));
    const c = Math.max(1, Math.min(nLeft, Math.floor(limit / (per * r))));
    return [c, r];
  }

  dispose(): void {
    tf.dispose([this.leftRows, this.leftGram, this.rightCols, this.rightGram]);
  }
}

/**
 * Scores ‖L_i R_j‖ / (‖L_i‖ ‖R_j‖) for every (i, j) with `pairs(i)` giving the right range of
 * each left index, on the host as a row-major [nLeft, nRight] array (zero outside the ranges).
 */
async function pairwiseScores(
  left: Flat,
  right: Flat,
  limit: number,
  rightRange: (i: number) => [number, number],
): Promise<Float32Array> {
  const nl = left.a.shape[0];
  const nr = right.a.shape[0];
  const out = new Float32Array(nl * nr);
  const normsL = squaredNorms(left);
  const normsR = squaredNorms(right);
  const pair = new PairwiseNorms(left, right);
  try {
    const [lData, rData] = await Promise.all([normsL.data(), normsR.data()]);
    let i = 0;
    while (i < nl) {
      const [j0, j1] = rightRange(i);
      // Group consecutive left rows that share the right range.
      let iEnd = i + 1;
      while (iEnd < nl && rightRange(iEnd)[0] === j0 && rightRange(iEnd)[1] === j1) iEnd++;
      if (j1 > j0) {
        const [c, r] = pair.chunks(iEnd - i, j1 - j0, limit);
        // Right chunks outside, so each slice of the right factors is made once per group.
        for (let cj = j0; cj < j1; cj += r) {
          const rr = Math.min(r, j1 - cj);
          const a2 = pair.rightSlice(cj, rr);
          try {
            for (let ci = i; ci < iEnd; ci += c) {
              const cc = Math.min(c, iEnd - ci);
              const sq = pair.block(ci, cc, cj, rr, a2);
              let data: Float32Array | Int32Array | Uint8Array;
              try {
                data = await sq.data();
              } finally {
                sq.dispose();
              }
              for (let a = 0; a < cc; a++) {
                for (let b = 0; b < rr; b++) {
                  const li = ci + a;
                  const rj = cj + b;
                  const denom = Math.sqrt(lData[li] * rData[rj]);
                  out[li * nr + rj] = Math.sqrt(Math.max(0, data[a * rr + b])) / denom;
                }
              }
            }
          } finally {
            a2.dispose();
          }
        }
      }
      i = iEnd;
    }
  } finally {
    tf.dispose([normsL, normsR]);
    pair.dispose();
  }
  return out;
}

/**
 * Composition scores ‖L R‖_F / (‖L‖_F ‖R‖_F) between factored matrices (TransformerLens's
 * `utils.composition_scores`), without forming L, R or L R. With `broadcastDims` (default) every
 * left matrix meets every right one: [...left leading, ...right leading].
 * @throws InvalidArgumentError when L's columns do not match R's rows, or leading dims do not broadcast.
 * @example
 * ```ts
 * const cfg = { nLayers: 2, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
 * const model = HookedTransformer.fromConfig(cfg);
 * const [ov, qk] = [OV(model), QK(model)];
 * const [left, right] = [ov.index(0, 1), qk.index(1, 2)];
 * const score = await compositionScores(left, right);   // [] Q-composition of L0H1 into L1H2
 * const all = await compositionScores(ov, qk);          // [2, 4, 2, 4], every pair (unmasked)
 * tf.dispose([score, all]);
 * [left, right, ov, qk, model].forEach((x) => x.dispose());
 * ```
 */
export async function compositionScores(
  left: FactoredMatrix,
  right: FactoredMatrix,
  options: CompositionScoresOptions = {},
): Promise<tf.Tensor> {
  checkOptions(options, ['broadcastDims', 'maxChunkElements'], 'compositionScores');
  const limit = chunkLimit(options.maxChunkElements, 'compositionScores');
  if (left.rdim !== right.ldim) {
    throw new InvalidArgumentError(
      `compositionScores: given left ${fmtShape(left.shape)} and right ${fmtShape(right.shape)}, expected left's columns (${left.rdim}) to equal right's rows (${right.ldim}).`,
    );
  }
  const leadL = left.shape.slice(0, -2);
  const leadR = right.shape.slice(0, -2);
  if (options.broadcastDims ?? true) {
    const l = flatten(left);
    const r = flatten(right);
    try {
      const nr = r.a.shape[0];
      const data = await pairwiseScores(l, r, limit, () => [0, nr]);
      return tf.tensor(data, [...leadL, ...leadR]);
    } finally {
      tf.dispose([l.a, l.b, r.a, r.b]);
    }
  }
  const lead = broadcastShapes(leadL, leadR, 'compositionScores');
  return tf.tidy(() => {
    const fit = (t: tf.Tensor): tf.Tensor => tf.broadcastTo(t, [...lead, ...t.shape.slice(-2)]);
    const [a1, b1, a2, b2] = [left.A, left.B, right.A, right.B].map(fit);
    const g1 = tf.matMul(a1, a1, true, false);
    const g2 = tf.matMul(b2, b2, false, true);
    const x = tf.matMul(b1, a2);
    const sq = tf.sum(tf.mul(tf.matMul(g1, x), tf.matMul(x, g2)), [-2, -1]);
    const nl = tf.sum(tf.mul(g1, tf.matMul(b1, b1, false, true)), [-2, -1]);
    const nr = tf.sum(tf.mul(tf.matMul(a2, a2, true, false), g2), [-2, -1]);
    return tf.div(tf.sqrt(tf.relu(sq)), tf.sqrt(tf.mul(nl, nr)));
  });
}

/**
 * Q-, K- or V-composition scores between every pair of heads (TransformerLens's
 * `all_composition_scores`): [n_layers, n_heads, n_layers, n_heads], entry [l₁, h₁, l₂, h₂] the
 * score of head (l₁, h₁)'s OV circuit feeding head (l₂, h₂)'s query (`'Q'`: QK), key (`'K'`: QKᵀ)
 * or value (`'V'`: OV); zero unless l₁ < l₂, as TL masks it. Only pairs across layers are computed,
 * in chunks (see the module's memory note), and no d_model × d_model matrix is formed.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const k = await allCompositionScores(model, 'K');   // [2, 4, 2, 4]
 * const table = (await k.array()) as number[][][][];
 * table[0][2][1][3];   // L0H2's OV into L1H3's keys
 * k.dispose(); model.dispose();
 * ```
 */
export async function allCompositionScores(
  model: AttentionWeights,
  mode: CompositionMode,
  options: AllCompositionScoresOptions = {},
): Promise<tf.Tensor> {
  checkOptions(options, ['maxChunkElements'], 'allCompositionScores');
  const limit = chunkLimit(options.maxChunkElements, 'allCompositionScores');
  if (mode !== 'Q' && mode !== 'K' && mode !== 'V') {
    throw new InvalidArgumentError(
      `allCompositionScores: given mode '${String(mode)}', expected 'Q', 'K' or 'V'.`,
    );
  }
  const [nLayers, nHeads] = model.W_Q.shape;
  const ov = OV(model);
  let right: FactoredMatrix | undefined;
  try {
    if (mode === 'V') right = OV(model);
    else {
      const qk = QK(model);
      if (mode === 'Q') right = qk;
      else {
        right = qk.T();
        qk.dispose();
      }
    }
    const l = flatten(ov);
    const r = flatten(right);
    try {
      // Left head i (layer ⌊i/H⌋) meets only heads of later layers: a contiguous range.
      const data = await pairwiseScores(l, r, limit, (i) => [
        (Math.floor(i / nHeads) + 1) * nHeads,
        nLayers * nHeads,
      ]);
      return tf.tensor(data, [nLayers, nHeads, nLayers, nHeads]);
    } finally {
      tf.dispose([l.a, l.b, r.a, r.b]);
    }
  } finally {
    ov.dispose();
    right?.dispose();
  }
}
