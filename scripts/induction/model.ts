/**
 * The induction model's pieces shared by the training script and the tests: its config, seeded
 * data, a differentiable forward pass, the loss, and export to a Hugging Face GPT-2-style folder.
 *
 * The training forward pass mirrors lazylens's `runForward` (attention-only, LayerNorm, learned
 * positions) and is checked against it: the test loads exported weights through
 * `HookedTransformer.fromPretrainedNoProcessing` and compares logits.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeConfig, type HookedTransformerConfig } from '../../src/core/config.js';
import { expectedParamShapes, type StateDict } from '../../src/core/stateDict.js';
import { writeSafetensors, type SafetensorsTensor } from '../../src/loading/safetensors.js';
import { WORDS } from './words.js';
import { mulberry32 } from '../../src/util/mulberry32.js';

export const EOT = '<|endoftext|>';
/** Token id of `<|endoftext|>` (BOS, EOS and pad): right after the words. */
export const EOT_ID = WORDS.length;
export const VOCAB_SIZE = WORDS.length + 1;

/** The shipped architecture. */
export function inductionConfig(overrides: Partial<HookedTransformerConfig> = {}): HookedTransformerConfig {
  return makeConfig({
    nLayers: 2,
    dModel: 64,
    nHeads: 4,
    dHead: 16,
    nCtx: 128,
    dVocab: VOCAB_SIZE,
    attnOnly: true,
    normalizationType: 'LN',
    modelName: 'induction-2l',
    ...overrides,
  });
}

/**
 * `batch` rows of BOS + `half` distinct random words + the same words again (length 2·half + 1),
 * word ids drawn from [0, WORDS.length).
 */
export function repeatedBatch(random: () => number, batch: number, half: number): number[][] {
  const rows: number[][] = [];
  const pool = wordPool();
  for (let b = 0; b < batch; b++) {
    const words = sampleWords(random, pool, half);
    rows.push([EOT_ID, ...words, ...words]);
  }
  return rows;
}

/** Every word id, in order: the pool {@link sampleWords} shuffles. */
function wordPool(): number[] {
  return Array.from({ length: WORDS.length }, (_, i) => i);
}

/** `n` distinct words: a partial Fisher–Yates of `pool` (shuffled in place), its first `n` entries. */
function sampleWords(random: () => number, pool: number[], n: number): number[] {
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, n);
}

/** Token rows and, per row, which next-token targets are predictable (1) or not (0): [batch, length − 1]. */
export interface TargetBatch {
  rows: number[][];
  predictable: number[][];
}

/** One row of a {@link TargetBatch}. */
interface TargetRow {
  row: number[];
  predictable: number[];
}

function toBatch(rows: TargetRow[]): TargetBatch {
  return { rows: rows.map((r) => r.row), predictable: rows.map((r) => r.predictable) };
}

/** The seeded PRNG every training and evaluation stream uses. */
export const rng = mulberry32;

/**
 * A batch where each row has its own repeat: BOS, `r` random filler words, a segment of `L` distinct
 * words, the same segment again, then filler up to `length` tokens. L and r vary per row, so
 * neither a fixed copy offset nor a fixed position can predict the second copy: only induction
 * (find the previous occurrence of the current word, copy the word after it) does.
 */
export function mixedBatch(
  random: () => number,
  batch: number,
  length: number,
  minHalf: number,
  maxHalf: number,
): number[][] {
  return mixedBatchWithTargets(random, batch, length, minHalf, maxHalf).rows;
}

/**
 * {@link mixedBatch} plus, per row, which next-token targets induction can predict: 1 where the
 * token at t+1 is in the second copy after its first word (its previous occurrence and the word
 * before it are both visible), else 0. Shape [batch, length − 1], aligned with the loss.
 */
export function mixedBatchWithTargets(
  random: () => number,
  batch: number,
  length: number,
  minHalf: number,
  maxHalf: number,
): TargetBatch {
  return toBatch(Array.from({ length: batch }, () => longRepeatRow(random, length, minHalf, maxHalf)));
}

/** BOS, random words, a segment of minHalf…maxHalf distinct words, the segment again, random words. */
function longRepeatRow(random: () => number, length: number, minHalf: number, maxHalf: number): TargetRow {
  const hi = Math.min(maxHalf, Math.floor((length - 1) / 2));
  const half = minHalf + Math.floor(random() * (hi - minHalf + 1));
  const segment = sampleWords(random, wordPool(), half);
  const prefix = Math.floor(random() * (length - 1 - 2 * half + 1));
  const suffix = length - 1 - 2 * half - prefix;
  const row = [
    EOT_ID,
    ...randomWords(random, prefix),
    ...segment,
    ...segment,
    ...randomWords(random, suffix),
  ];
  // target t predicts position t+1; the second copy starts at position 1 + prefix + half
  const second = 1 + prefix + half;
  const predictable = Array.from({ length: length - 1 }, (_, t) =>
    t + 1 > second && t + 1 < second + half ? 1 : 0,
  );
  return { row, predictable };
}

/** `n` words drawn independently (repeats allowed). */
function randomWords(random: () => number, n: number): number[] {
  return Array.from({ length: n }, () => Math.floor(random() * WORDS.length));
}

/** How {@link chunkedBatchWithTargets} lays out a row. */
export interface ChunkOptions {
  /** Share of rows made of several short repeats; the rest hold one repeat of minHalf…maxHalf. */
  shortShare: number;
  /** Segment lengths of the short repeats: 2…shortMax. */
  shortMax: number;
  /** Random words between a short segment and its copy: 0…maxGap. */
  maxGap: number;
  /**
   * Share of rows that are skip-bigram triples instead (default 0): random a, random b,
   * {@link SKIP_BIGRAM}[a], and again.
   */
  skipShare?: number;
  /** Share of rows that are bigram chains (default 0): each word after the first is {@link BIGRAM} of the one before. */
  bigramShare?: number;
}

/**
 * A fixed permutation of the words (from its own seed): in a skip-bigram row, every third word
 * is SKIP_BIGRAM of the word two before it. Predicting it needs the previous token at each position, which random
 * repeats alone never reward directly (natural text does, through its bigram statistics).
 */
export const SKIP_BIGRAM: readonly number[] = permutation(7);

/**
 * Another fixed permutation: in a bigram row, word t + 1 is BIGRAM[word t]. Predicting it needs
 * only the current token, read straight from its embedding, as natural text's bigram statistics
 * reward; random repeats alone never do.
 */
export const BIGRAM: readonly number[] = permutation(11);

/** A permutation of the word ids, shuffled from `seed` (Fisher–Yates). */
function permutation(seed: number): number[] {
  const random = rng(seed);
  const perm = wordPool();
  for (let i = perm.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
}

/**
 * Rows of four kinds, chosen per row: skip-bigram triples (`skipShare`), bigram chains (a
 * `bigramShare` of the rest), rows packed with short repeats (a `shortShare` of what remains:
 * filler, a segment of 2…shortMax distinct words, 0…maxGap filler words, the segment again, to
 * the end of the row), and otherwise one long repeat as {@link mixedBatchWithTargets}. A short
 * repeat anywhere in the row can only be completed from the word right after the previous
 * occurrence, so copying relative to a moved anchor does not pay there.
 */
export function chunkedBatchWithTargets(
  random: () => number,
  batch: number,
  length: number,
  minHalf: number,
  maxHalf: number,
  chunks: ChunkOptions,
): TargetBatch {
  // one draw per kind, in this order, whatever the shares (the stream of draws fixes the data)
  const row = (): TargetRow =>
    random() < (chunks.skipShare ?? 0)
      ? skipBigramRow(random, length)
      : random() < (chunks.bigramShare ?? 0)
        ? bigramRow(random, length)
        : random() >= chunks.shortShare
          ? longRepeatRow(random, length, minHalf, maxHalf)
          : shortRepeatsRow(random, length, chunks);
  return toBatch(Array.from({ length: batch }, row));
}

/**
 * Triples a, b, SKIP_BIGRAM[a]: the third word follows from the word before the previous one,
 * and nothing follows from further back (a chain would also reward 3-back heads).
 */
function skipBigramRow(random: () => number, length: number): TargetRow {
  const row = [EOT_ID];
  const predictable = new Array<number>(length - 1).fill(0);
  while (row.length < length) {
    const [a, b] = randomWords(random, 2);
    row.push(a, b, SKIP_BIGRAM[a]);
    predictable[row.length - 2] = 1; // the target at b predicts SKIP_BIGRAM[a]
  }
  return { row: row.slice(0, length), predictable: predictable.slice(0, length - 1) };
}

/** A chain: each word BIGRAM of the one before. */
function bigramRow(random: () => number, length: number): TargetRow {
  const row = [EOT_ID, ...randomWords(random, 1)];
  while (row.length < length) row.push(BIGRAM[row[row.length - 1]]);
  return { row, predictable: Array.from({ length: length - 1 }, (_, t) => (t >= 1 ? 1 : 0)) };
}

/** Short repeats (0–3 random words, a segment, 0…maxGap random words, the segment again) to the end. */
function shortRepeatsRow(random: () => number, length: number, chunks: ChunkOptions): TargetRow {
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const row = [EOT_ID];
  const predictable = new Array<number>(length - 1).fill(0);
  for (;;) {
    const lead = int(0, 3);
    const half = int(2, chunks.shortMax);
    const gap = int(0, chunks.maxGap);
    if (row.length + lead + 2 * half + gap > length) break;
    row.push(...randomWords(random, lead));
    const segment = sampleWords(random, wordPool(), half);
    row.push(...segment, ...randomWords(random, gap));
    const second = row.length;
    row.push(...segment);
    // target t predicts position t + 1: the copy's words after its first are predictable
    for (let p = second + 1; p < second + half; p++) predictable[p - 1] = 1;
  }
  row.push(...randomWords(random, length - row.length));
  return { row, predictable };
}

/** Standard normal samples from `random` (Box–Muller). */
function normals(random: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/**
 * Sinusoidal position codes (as the original transformer's), scaled to standard deviation `std`:
 * the starting point of the learned positional embedding. Nearby positions start out similar and
 * an offset is a fixed rotation, which lets a previous-token head form much sooner than from noise.
 */
function sinusoids(nCtx: number, d: number, std: number): Float32Array {
  const out = new Float32Array(nCtx * d);
  for (let p = 0; p < nCtx; p++) {
    for (let i = 0; i < d / 2; i++) {
      const angle = p / 10000 ** ((2 * i) / d);
      out[p * d + 2 * i] = Math.sin(angle) * std * Math.SQRT2;
      out[p * d + 2 * i + 1] = Math.cos(angle) * std * Math.SQRT2;
    }
  }
  return out;
}

/** How the learned positional embedding starts: {@link sinusoids} or TransformerLens's normal init. */
export type PosInit = 'sinusoid' | 'normal';

/**
 * TransformerLens's default initialization (weights ~ N(0, initRange), biases 0, LN weights 1),
 * except W_pos, which by default starts from {@link sinusoids}; from a seeded PRNG so it is the
 * same on every backend. `unembed.b_U` is left out: a GPT-2 checkpoint has no unembedding bias, so
 * it stays zero.
 */
export function initParams(
  cfg: HookedTransformerConfig,
  seed: number,
  posInit: PosInit = 'sinusoid',
): StateDict {
  const random = rng(seed);
  const params: StateDict = new Map();
  for (const [name, shape] of expectedParamShapes(cfg)) {
    if (name === 'unembed.b_U') continue;
    const n = shape.reduce((a, b) => a * b, 1);
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    const data =
      name === 'pos_embed.W_pos' && posInit === 'sinusoid'
        ? sinusoids(shape[0], shape[1], cfg.initRange)
        : leaf.startsWith('W_')
          ? normals(random, n, cfg.initRange)
          : leaf === 'w'
            ? new Float32Array(n).fill(1)
            : new Float32Array(n);
    params.set(name, tf.tensor(data, shape));
  }
  return params;
}

/**
 * a @ b for rank-2 or rank-3 (batched) tensors, with a gradient written as explicit transposes
 * plus plain matMuls: the wasm backend runs matMul with its transpose flags (what tfjs's own
 * matMul gradient uses) about ten times slower.
 */
const mm: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.customGrad(
  (...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([a, b]);
    const swap = (t: tf.Tensor): tf.Tensor => (t.rank === 2 ? tf.transpose(t) : tf.transpose(t, [0, 2, 1]));
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sa, sb] = saved;
        const g = dy as tf.Tensor;
        return [tf.matMul(g, swap(sb)), tf.matMul(swap(sa), g)];
      },
    };
  },
);

/** x [..., d] @ w [d, n] (+ b) → [..., n], as layers.ts's `linear`. */
function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const lead = x.shape.slice(0, -1);
  const y = tf.reshape(mm(tf.reshape(x, [-1, x.shape[x.rank - 1]]), w), [...lead, w.shape[1] as number]);
  return b ? tf.add(y, b) : y;
}

/** Rows `ids` of `table` [n, d]; the gradient is a scatter-add on the host (wasm has no UnsortedSegmentSum). */
function lookup(table: tf.Tensor, ids: Int32Array): tf.Tensor {
  const [n, d] = table.shape;
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.tidy(() => tf.gather(inputs[0] as tf.Tensor, tf.tensor1d(ids, 'int32'))),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
      const g = (dy as tf.Tensor).dataSync();
      const out = new Float32Array(n * d);
      for (let r = 0; r < ids.length; r++) {
        const to = ids[r] * d;
        const from = r * d;
        for (let i = 0; i < d; i++) out[to + i] += g[from + i];
      }
      return tf.tensor2d(out, [n, d]);
    },
  }));
  return f(table);
}

/** LayerNorm as layers.ts's `normalize` for 'LN': centre, divide by sqrt(mean² + eps), scale, shift. */
function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const centred = tf.sub(x, tf.mean(x, -1, true));
  const scale = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
  return tf.add(tf.mul(tf.div(centred, scale), w), b);
}

/** [pos, pos]: 0 where a query may attend to a key (key ≤ query), −∞ elsewhere. */
function causalMask(pos: number): tf.Tensor {
  const m = new Float32Array(pos * pos);
  for (let q = 0; q < pos; q++) for (let k = q + 1; k < pos; k++) m[q * pos + k] = -Infinity;
  return tf.tensor2d(m, [pos, pos]);
}

/**
 * Logits [batch, pos, vocab] of token rows, differentiable with respect to `params` on every
 * backend. The maths is lazylens's `runForward` for an attention-only LN model with learned
 * positions and no unembedding bias (a GPT-2 checkpoint has none), rearranged for speed only:
 * the causal mask added as 0/−∞ (identical to masking with −∞,
 * since every query sees at least itself); embedding rows gathered with a host-side gradient.
 * Call inside a tidy or `tf.variableGrads`.
 */
export function trainForward(cfg: HookedTransformerConfig, params: StateDict, rows: number[][]): tf.Tensor {
  const batch = rows.length;
  const pos = rows[0].length;
  const { dModel: d, nHeads: h, dHead: dh } = cfg;
  const p = (name: string): tf.Tensor => {
    const t = params.get(name);
    if (!t) throw new Error(`parameter ${name} missing`);
    return t;
  };
  const ids = Int32Array.from(rows.flat());
  const posIds = Int32Array.from({ length: batch * pos }, (_, i) => i % pos);
  // [b·p, d]: token embedding + positional embedding
  let resid = tf.add(lookup(p('embed.W_E'), ids), lookup(p('pos_embed.W_pos'), posIds));
  const mask = causalMask(pos);
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blocks.${l}`;
    const x = layerNorm(resid, p(`${b}.ln1.w`), p(`${b}.ln1.b`), cfg.eps);
    // W [h, d, dh] → [d, h·dh]; x·W + b → [b, p, h, dh] → [b·h, p, dh]
    const project = (m: string): tf.Tensor => {
      const w = tf.reshape(tf.transpose(p(`${b}.attn.W_${m}`), [1, 0, 2]), [d, h * dh]);
      const y = linear(x, w, tf.reshape(p(`${b}.attn.b_${m}`), [h * dh]));
      return tf.reshape(tf.transpose(tf.reshape(y, [batch, pos, h, dh]), [0, 2, 1, 3]), [batch * h, pos, dh]);
    };
    const [q, k, v] = [project('Q'), project('K'), project('V')];
    let scores = mm(q, tf.transpose(k, [0, 2, 1])); // [b·h, q, k]
    scores = tf.add(tf.div(scores, cfg.attnScale), mask);
    const pattern = tf.softmax(scores);
    const z = mm(pattern, v); // [b·h, p, dh]
    const zFlat = tf.reshape(tf.transpose(tf.reshape(z, [batch, h, pos, dh]), [0, 2, 1, 3]), [
      batch * pos,
      h * dh,
    ]);
    const attnOut = linear(zFlat, tf.reshape(p(`${b}.attn.W_O`), [h * dh, d]), p(`${b}.attn.b_O`));
    resid = tf.add(resid, attnOut);
  }
  const normed = layerNorm(resid, p('ln_final.w'), p('ln_final.b'), cfg.eps);
  return tf.reshape(linear(normed, p('unembed.W_U')), [batch, pos, cfg.dVocabOut]);
}

/** Mean next-token cross-entropy over all positions, as TransformerLens's `lm_cross_entropy_loss`. */
export function lmCrossEntropy(logits: tf.Tensor, tokens: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  const [b, p, v] = logits.shape;
  const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [b, p - 1, v]));
  const targets = tf.slice(tokens, [0, 1], [b, p - 1]);
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(targets, 'int32'), v)), -1);
  if (!weights) return tf.neg(tf.mean(picked));
  // a weighted mean: positions weighted 0 do not train
  return tf.neg(tf.div(tf.sum(tf.mul(picked, weights)), tf.sum(weights)));
}

/**
 * Top-1 accuracy of next-token predictions on rows of BOS + half + half: `first` over query
 * positions 0..half−1 (predicting the first half: nothing to copy), `repeated` over query
 * positions half+1..2·half−1 (predicting a token whose previous occurrence is visible).
 */
export function halfAccuracies(
  logits: tf.Tensor,
  rows: number[][],
  half: number,
): { first: number; repeated: number } {
  const argMax = tf.argMax(logits, -1);
  const predicted = argMax.arraySync() as number[][];
  argMax.dispose();
  let first = 0;
  let repeated = 0;
  rows.forEach((row, b) => {
    for (let p = 0; p < half; p++) if (predicted[b][p] === row[p + 1]) first++;
    for (let p = half + 1; p < 2 * half; p++) if (predicted[b][p] === row[p + 1]) repeated++;
  });
  return { first: first / (rows.length * half), repeated: repeated / (rows.length * (half - 1)) };
}

// ---- export ---------------------------------------------------------------------------------

/** The HF GPT-2 config.json of an attention-only model (with lazylens's `attn_only` extension). */
export function hfConfigJson(cfg: HookedTransformerConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    attn_only: true,
    _lazylens_note:
      "'attn_only' is a lazylens extension, not a Hugging Face GPT2Config field: the blocks have no " +
      'MLP and no ln_2, so the checkpoint has no mlp.* or ln_2.* tensors. Hugging Face transformers ' +
      'cannot load this folder; lazylens can (HookedTransformer.fromPretrained).',
    n_layer: cfg.nLayers,
    n_embd: cfg.dModel,
    n_head: cfg.nHeads,
    n_inner: null,
    n_positions: cfg.nCtx,
    n_ctx: cfg.nCtx,
    vocab_size: cfg.dVocab,
    layer_norm_epsilon: cfg.eps,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    tie_word_embeddings: false,
    bos_token_id: EOT_ID,
    eos_token_id: EOT_ID,
    torch_dtype: 'float32',
  };
}

/**
 * TransformerLens-named weights → HF GPT-2 tensors (Conv1D [in, out] layout; q, k, v
 * concatenated head-major in `c_attn`; `lm_head.weight` = W_Uᵀ). The inverse of `convertGpt2`.
 */
export async function toHfTensors(
  cfg: HookedTransformerConfig,
  params: StateDict,
): Promise<Map<string, SafetensorsTensor>> {
  const { dModel: d, nHeads: h, dHead: dh } = cfg;
  const host = async (name: string): Promise<Float32Array> => {
    const t = params.get(name);
    if (!t) throw new Error(`parameter ${name} missing`);
    return (await t.data()) as Float32Array;
  };
  const out = new Map<string, SafetensorsTensor>();
  const put = (name: string, shape: number[], data: Float32Array): void => {
    out.set(`transformer.${name}`, { dtype: 'F32', shape, data });
  };
  put('wte.weight', [cfg.dVocab, d], await host('embed.W_E'));
  put('wpe.weight', [cfg.nCtx, d], await host('pos_embed.W_pos'));
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blocks.${l}.`;
    put(`h.${l}.ln_1.weight`, [d], await host(`${b}ln1.w`));
    put(`h.${l}.ln_1.bias`, [d], await host(`${b}ln1.b`));
    const cAttn = new Float32Array(d * 3 * d);
    const cAttnBias = new Float32Array(3 * d);
    for (const [which, m] of ['Q', 'K', 'V'].entries()) {
      const w = await host(`${b}attn.W_${m}`); // [h, d, dh]
      for (let head = 0; head < h; head++) {
        for (let i = 0; i < d; i++) {
          for (let e = 0; e < dh; e++)
            cAttn[i * 3 * d + which * d + head * dh + e] = w[(head * d + i) * dh + e];
        }
      }
      cAttnBias.set(await host(`${b}attn.b_${m}`), which * d); // [h, dh] flattened head-major
    }
    put(`h.${l}.attn.c_attn.weight`, [d, 3 * d], cAttn);
    put(`h.${l}.attn.c_attn.bias`, [3 * d], cAttnBias);
    put(`h.${l}.attn.c_proj.weight`, [d, d], await host(`${b}attn.W_O`)); // [h, dh, d] = [(h dh), d]
    put(`h.${l}.attn.c_proj.bias`, [d], await host(`${b}attn.b_O`));
  }
  put('ln_f.weight', [d], await host('ln_final.w'));
  put('ln_f.bias', [d], await host('ln_final.b'));
  const wU = await host('unembed.W_U'); // [d, V]
  const head = new Float32Array(cfg.dVocab * d);
  for (let i = 0; i < d; i++) for (let v = 0; v < cfg.dVocab; v++) head[v * d + i] = wU[i * cfg.dVocab + v];
  out.set('lm_head.weight', { dtype: 'F32', shape: [cfg.dVocab, d], data: head });
  return out;
}

/**
 * A `tokenizers` tokenizer.json: WordPiece model over whole words (no sub-word pieces, so every
 * word is one token and any other text is an error), whitespace split, lower-casing, and the
 * WordPiece decoder, which joins tokens with single spaces.
 */
export function tokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  WORDS.forEach((w, i) => (vocab[w] = i));
  vocab[EOT] = EOT_ID;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: EOT_ID,
        content: EOT,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

export const TOKENIZER_CONFIG = {
  bos_token: EOT,
  eos_token: EOT,
  pad_token: EOT,
  add_bos_token: false,
  clean_up_tokenization_spaces: false,
  model_max_length: 128,
  tokenizer_class: 'PreTrainedTokenizerFast',
};

/** Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json to `dir`. */
export async function writeModelFolder(
  dir: string,
  cfg: HookedTransformerConfig,
  params: StateDict,
  metadata: Record<string, string> = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json = (o: unknown): string => `${JSON.stringify(o, null, 2)}\n`;
  await writeFile(join(dir, 'config.json'), json(hfConfigJson(cfg)));
  await writeFile(
    join(dir, 'model.safetensors'),
    writeSafetensors(await toHfTensors(cfg, params), { format: 'pt', ...metadata }),
  );
  await writeFile(join(dir, 'tokenizer.json'), json(tokenizerJson()));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    json({ ...TOKENIZER_CONFIG, model_max_length: cfg.nCtx }),
  );
}
