/**
 * The core of attention, from the heads' queries, keys and values to the weighted values z:
 * scores `q·kᵀ / scale`, Gemma 2's soft cap, ALiBi's bias, the causal (and local-window, and
 * padding) mask, softmax, and the weighted sum of values. {@link attentionCoreComposition} writes
 * it as plain tfjs ops (every backend, and the reference); on webgpu {@link attentionCore} runs it
 * as one WGSL kernel when nothing needs the scores or the pattern themselves.
 *
 * Queries are the last `qLen` of the `kLen` key positions (`qLen < kLen` when earlier keys come
 * from a cache), so query `i` sits at position `i + kLen − qLen` and sees keys up to it. Grouped
 * keys and values (`g` heads serving `h = g·r` query heads, each group `r` consecutive heads) are
 * never repeated: the composition multiplies per group, the kernel indexes the group.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../errors.js';
import { blasAttentionOn, headMix, headScores } from './blasAttention.js';
import { contractLast } from './contractLast.js';
import {
  f32,
  registerWebGpuKernel,
  required,
  rowDispatch,
  SAFE_TANH,
  useFusedKernel,
  type WebGpuProgram,
} from './webgpuProgram.js';

/** How scores are formed and masked. */
export interface AttentionSpec {
  /** Scores are divided by this (1: not scaled). */
  readonly scale: number;
  /** Gemma 2's cap: scores become `cap · tanh(scores / cap)` before the mask; 0 for none. */
  readonly softCap: number;
  /** ALiBi: per query head, `slope · (key − query)` is added to the scores. */
  readonly alibiSlopes?: readonly number[];
  /** Local attention: a query sees only the `window` latest positions, itself included. */
  readonly window?: number;
  /** [batch, kLen]: 1 for a real token, 0 for padding (never attended to). */
  readonly padMask?: tf.Tensor;
  /**
   * With `padMask`: whether some query sees no real key at all (see {@link someQueryBlind}).
   * Only such a query needs the guard that keeps its all-masked row from becoming NaN; unknown
   * (undefined) counts as yes.
   */
  readonly blindQueries?: boolean;
}

/** Optional hook points inside the composition; each returns the tensor to carry on with. */
export interface AttentionHooks {
  /** The masked scores [b, h, q, k] (−∞ where masked). */
  readonly scores?: (scores: tf.Tensor) => tf.Tensor;
  /** The pattern [b, h, q, k] (rows with no visible key are all zero). */
  readonly pattern?: (pattern: tf.Tensor) => tf.Tensor;
}

// tfjs-backend-webgpu's softmax starts its row maximum at −3.402823e38, above the lowest f32, so
// a row clamped to the lowest f32 would divide 0 by 0 there; −1e30 is far below any real score.
const CLAMP = -1e30;
// The kernel's marker of a masked score.
const LOWEST = -3.4028234663852886e38;

function shapes(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
): { h: number; g: number; qLen: number; kLen: number } {
  const [b, qLen, h, dh] = q.shape;
  const [kb, kLen, g, kdh] = k.shape;
  const ok =
    q.rank === 4 &&
    k.rank === 4 &&
    v.rank === 4 &&
    kb === b &&
    kdh === dh &&
    v.shape.every((n, i) => n === k.shape[i]) &&
    h % g === 0 &&
    qLen <= kLen;
  if (!ok) {
    throw new InvalidArgumentError(
      `Attention given q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}]; expected q [b, q, h, dh] and k, v [b, k, g, dh] with g dividing h and q ≤ k.`,
    );
  }
  return { h, g, qLen, kLen };
}

/**
 * Whether, in any row of the host mask `rows` [batch][kLen], a query sees no real key: every key
 * its causal (and window) mask lets it see is padding, as the padding queries before a
 * left-padded prompt. Right padding leaves none: every query sees its row's first token.
 */
export function someQueryBlind(
  rows: readonly (readonly number[])[],
  qLen: number,
  kLen: number,
  window: number | undefined,
): boolean {
  const offset = kLen - qLen;
  const seenBefore = new Int32Array(kLen + 1); // real keys among the first i of the row
  for (const row of rows) {
    for (let ki = 0; ki < kLen; ki++) seenBefore[ki + 1] = seenBefore[ki] + (row[ki] > 0 ? 1 : 0);
    for (let qi = 0; qi < qLen; qi++) {
      const at = qi + offset;
      const first = window === undefined ? 0 : Math.max(0, at - window + 1);
      if (seenBefore[at + 1] === seenBefore[first]) return true;
    }
  }
  return false;
}

/** Which keys each query sees before padding, [q·k] row-major: causal, within the window. */
function causalSeen(spec: AttentionSpec, qLen: number, kLen: number): Uint8Array {
  const seen = new Uint8Array(qLen * kLen);
  const offset = kLen - qLen;
  for (let qi = 0; qi < qLen; qi++) {
    const at = qi + offset;
    const first = spec.window === undefined ? 0 : Math.max(0, at - spec.window + 1);
    for (let ki = first; ki <= at; ki++) seen[qi * kLen + ki] = 1;
  }
  return seen;
}

/**
 * The additive mask and ALiBi bias [1 or b, 1 or h, q, k] (0 where seen, −∞ where masked), built
 * to broadcast against the scores rather than materialised at their shape.
 */
function additiveMask(
  spec: AttentionSpec,
  seen: Uint8Array,
  h: number,
  qLen: number,
  kLen: number,
): tf.Tensor {
  const slopes = spec.alibiSlopes;
  const heads = slopes ? h : 1;
  const offset = kLen - qLen;
  const data = new Float32Array(heads * qLen * kLen);
  for (let hi = 0; hi < heads; hi++) {
    for (let qi = 0; qi < qLen; qi++) {
      for (let ki = 0; ki < kLen; ki++) {
        const at = (hi * qLen + qi) * kLen + ki;
        data[at] = !seen[qi * kLen + ki] ? -Infinity : slopes ? slopes[hi] * (ki - qi - offset) : 0;
      }
    }
  }
  const causal = tf.tensor(data, [1, heads, qLen, kLen]);
  if (!spec.padMask) return causal;
  const b = spec.padMask.shape[0];
  const real = tf.cast(spec.padMask, 'bool');
  const padding = tf.where(real, tf.zeros([b, kLen]), tf.fill([b, kLen], -Infinity));
  return tf.add(causal, tf.reshape(padding, [b, 1, 1, kLen]));
}

/**
 * Attention as plain tfjs ops: z [b, q, h, dh] from q [b, q, h, dh] and k, v [b, k, g, dh]. The
 * reference the fused kernel is checked against, and the path whenever scores or pattern are
 * hooked. No tensor of the scores' shape is materialised besides the scores and the pattern.
 */
export function attentionCoreComposition(
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  spec: AttentionSpec,
  hooks: AttentionHooks = {},
): tf.Tensor {
  const { h, g, qLen, kLen } = shapes(q, k, v);
  const [b, , , dh] = q.shape;
  const r = h / g;
  // Where BLAS reads the heads in place (./blasAttention.ts), the scale is the product's factor.
  const strided = blasAttentionOn();
  let scores: tf.Tensor;
  if (strided) {
    scores = headScores(q, k, 1 / spec.scale);
  } else {
    // [b, q, h, dh] → [b, h, q, dh] → [b, g, r·q, dh]: a group's r heads are consecutive.
    const qg = tf.reshape<tf.Rank.R3>(tf.transpose(q, [0, 2, 1, 3]), [b * g, r * qLen, dh]);
    const kg = tf.reshape<tf.Rank.R3>(tf.transpose(k, [0, 2, 1, 3]), [b * g, kLen, dh]);
    scores = tf.reshape(contractLast(qg, kg), [b, h, qLen, kLen]);
    if (spec.scale !== 1) scores = tf.div(scores, spec.scale);
  }
  // Gemma 2 caps the scores before the mask, so hook_attn_scores sees capped scores.
  if (spec.softCap > 0) scores = tf.mul(tf.tanh(tf.div(scores, spec.softCap)), spec.softCap);
  const seen = causalSeen(spec, qLen, kLen);
  scores = tf.add(scores, additiveMask(spec, seen, h, qLen, kLen));
  if (hooks.scores) scores = hooks.scores(scores);
  let pattern: tf.Tensor;
  if (spec.padMask && spec.blindQueries !== false) {
    // A query whose keys are all padding gets an all-zero row instead of NaN, as TL: the clamp
    // keeps its softmax finite and the row's factor zeroes it (other rows are unchanged, since a
    // clamped masked score still contributes exactly 0).
    const pad = tf.reshape(tf.cast(spec.padMask, 'float32'), [b, 1, 1, kLen]);
    const visible = tf.mul(tf.tensor(Float32Array.from(seen), [1, 1, qLen, kLen]), pad);
    const anySeen = tf.cast(tf.greater(tf.max(visible, -1, true), 0), 'float32');
    pattern = tf.mul(tf.softmax(tf.maximum(scores, CLAMP)), anySeen);
  } else {
    // Every query sees at least itself, so no row is empty.
    pattern = tf.softmax(scores);
  }
  if (hooks.pattern) pattern = hooks.pattern(pattern);
  if (strided) return headMix(pattern, v);
  const pg = tf.reshape<tf.Rank.R3>(pattern, [b * g, r * qLen, kLen]);
  const vg = tf.reshape<tf.Rank.R3>(tf.transpose(v, [0, 2, 3, 1]), [b * g, dh, kLen]);
  const z = tf.reshape(contractLast(pg, vg), [b, h, qLen, dh]);
  return tf.transpose(z, [0, 2, 1, 3]);
}

const KERNEL = 'LazylensAttentionCore';
// One workgroup per (batch, head, block of WG queries), one thread per query. The workgroup
// copies a tile of keys and values into shared memory (coalesced, once for all its queries); each
// thread then reads them as broadcasts, keeping its query, a running (online) softmax and its
// weighted sum in registers, so the scores never leave the thread.
const WG = 32;
// Bytes of shared memory for one key tile and one value tile (WebGPU guarantees 16 KiB in all).
const TILE_BYTES = 8192;

class AttentionProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'scale : f32, softCap : f32, window : i32,';
  private readonly tileKeys: number;

  constructor(
    qShape: number[],
    private readonly masked: boolean,
    private readonly alibi: boolean,
    private readonly capped: boolean,
    private readonly windowed: boolean,
  ) {
    const [b, qLen, h, dh] = qShape;
    this.outputShape = qShape;
    this.tileKeys = Math.max(1, Math.min(64, Math.floor(TILE_BYTES / 8 / dh)));
    this.variableNames = ['Q', 'K', 'V', ...(masked ? ['PadMask'] : []), ...(alibi ? ['Slopes'] : [])];
    this.dispatchLayout = { x: qShape.map((_, i) => i) };
    ({ dispatch: this.dispatch, workgroupSize: this.workgroupSize } = rowDispatch(
      b * h * Math.ceil(qLen / WG),
      WG,
    ));
    const flags = [masked, alibi, capped, windowed].map(Number).join('');
    this.shaderKey = `lazylensAttention_${dh}_${flags}`;
  }

  getUserCode(): string {
    const dh = this.outputShape[3];
    const seen = [
      'j <= at',
      ...(this.windowed ? ['at - j < uniforms.window'] : []),
      ...(this.masked ? ['keyReal[u] != 0.0'] : []),
    ].join(' && ');
    return `
  ${SAFE_TANH}
  const WG = ${WG};
  const DH = ${dh};
  const TK = ${this.tileKeys};
  const MASKED = ${f32(LOWEST)};
  var<workgroup> keys : array<f32, ${this.tileKeys * dh}>;
  var<workgroup> values : array<f32, ${this.tileKeys * dh}>;
  var<workgroup> keyReal : array<f32, TK>;
  var<workgroup> firstKey : i32;
  var<workgroup> endKey : i32;

  fn main(index : i32) {
    let tid = i32(localId.x);
    let H = uniforms.qShape.z;
    let QL = uniforms.qShape.y;
    let KL = uniforms.kShape.y;
    let G = uniforms.kShape.z;
    let blocks = (QL + WG - 1) / WG;
    let group = index / WG;
    let block = group % blocks;
    let hi = (group / blocks) % H;
    let bi = group / (blocks * H);
    let gi = hi / (H / G);
    let qi = block * WG + tid;
    let valid = qi < QL;
    let at = qi + KL - QL;
    if (tid == 0) {
      // Keys any query of the block may see: up to its last query, from its first one's window.
      endKey = min(KL, min(block * WG + WG, QL) + KL - QL);
      firstKey = ${this.windowed ? 'max(0, block * WG + KL - QL - uniforms.window + 1)' : '0'};
    }
    // Loaded through workgroupUniformLoad: the tile loop holds barriers, so its bounds must be
    // uniform across the workgroup (they are: they depend on the block only).
    let kFirst = workgroupUniformLoad(&firstKey);
    let kEnd = workgroupUniformLoad(&endKey);
    let qBase = ((bi * QL + qi) * H + hi) * DH;
    var q : array<f32, DH>;
    var acc : array<f32, DH>;
    if (valid) {
      for (var d = 0; d < DH; d++) {
        q[d] = Q[qBase + d];
      }
    }
    var m = MASKED;
    var l = 0.0;
    for (var t0 = kFirst; t0 < kEnd; t0 += TK) {
      for (var i = tid; i < TK * DH; i += WG) {
        let j = t0 + i / DH;
        var kv = vec2<f32>(0.0, 0.0);
        if (j < kEnd) {
          let src = ((bi * KL + j) * G + gi) * DH + i % DH;
          kv = vec2<f32>(K[src], V[src]);
        }
        keys[i] = kv.x;
        values[i] = kv.y;
      }
      ${
        this.masked
          ? `for (var u = tid; u < TK; u += WG) {
        keyReal[u] = select(0.0, f32(PadMask[bi * KL + min(t0 + u, KL - 1)]), t0 + u < kEnd);
      }`
          : ''
      }
      workgroupBarrier();
      if (valid) {
        let n = min(TK, kEnd - t0);
        for (var u = 0; u < n; u++) {
          let j = t0 + u;
          if (${seen}) {
            var dot = 0.0;
            for (var d = 0; d < DH; d++) {
              dot += q[d] * keys[u * DH + d];
            }
            var s = dot / uniforms.scale;
            ${this.capped ? 's = safeTanh(s / uniforms.softCap) * uniforms.softCap;' : ''}
            ${this.alibi ? 's += Slopes[hi] * f32(j - at);' : ''}
            // Online softmax: rescale what was summed whenever the row's maximum grows.
            let mNew = max(m, s);
            let rescale = exp(m - mNew);
            let p = exp(s - mNew);
            l = l * rescale + p;
            for (var d = 0; d < DH; d++) {
              acc[d] = acc[d] * rescale + p * values[u * DH + d];
            }
            m = mNew;
          }
        }
      }
      workgroupBarrier();
    }
    // A query with no visible key (all padding) gets zeros, as the composition's empty row.
    if (valid) {
      for (var d = 0; d < DH; d++) {
        result[qBase + d] = select(acc[d] / l, 0.0, l == 0.0);
      }
    }
  }
`;
  }
}

function registerAttentionKernel(): void {
  registerWebGpuKernel(KERNEL, (inputs, attrs) => {
    const [q, k, v] = ['q', 'k', 'v'].map((name) => required(inputs, name));
    const { padMask, slopes } = inputs;
    const softCap = attrs.softCap as number;
    const window = attrs.window as number;
    const program = new AttentionProgram(q.shape, !!padMask, !!slopes, softCap > 0, window > 0);
    return {
      program,
      inputs: [q, k, v, ...(padMask ? [padMask] : []), ...(slopes ? [slopes] : [])],
      uniforms: [
        { type: 'float32', data: [attrs.scale as number] },
        { type: 'float32', data: [softCap] },
        { type: 'int32', data: [window] },
      ],
    };
  });
}

/**
 * z [b, q, h, dh] from q [b, q, h, dh] and k, v [b, k, g, dh]: one fused kernel on webgpu
 * (see {@link useFusedKernel}), {@link attentionCoreComposition} elsewhere. For use when nothing
 * observes the scores or the pattern.
 */
export function attentionCore(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, spec: AttentionSpec): tf.Tensor {
  if (!useFusedKernel()) return attentionCoreComposition(q, k, v, spec);
  shapes(q, k, v);
  registerAttentionKernel();
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = { q, k, v };
    if (spec.padMask) inputs.padMask = spec.padMask;
    if (spec.alibiSlopes) inputs.slopes = tf.tensor1d([...spec.alibiSlopes], 'float32');
    const attrs = { scale: spec.scale, softCap: spec.softCap, window: spec.window ?? 0 };
    return tf.engine().runKernel<tf.Tensor>(KERNEL, inputs, attrs);
  });
}
