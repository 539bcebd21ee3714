/**
 * Rotary positional embeddings (RoPE) as TransformerLens applies them to `hook_q` / `hook_k`
 * before `hook_rot_q` / `hook_rot_k`. Only the first `rotaryDim` dims of each head rotate; the
 * rest pass through (GPT-NeoX's partial rotary). Two layouts pair the rotated dims differently:
 *
 * - half-split (`rotaryAdjacentPairs: false`, GPT-NeoX and Hugging Face Llama): dim i pairs
 *   with dim i + r/2, i < r/2;
 * - adjacent pairs (`rotaryAdjacentPairs: true`, GPT-J and llama2.c): dim 2j pairs with 2j + 1.
 *
 * Pair j turns by the angle `pos · base^(−2j / r)` either way.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';

/** cos and sin of every pair's angle, [batch or 1, pos, 1, rotaryDim / 2], ready to broadcast over heads. */
export interface RotaryTables {
  cos: tf.Tensor;
  sin: tf.Tensor;
}

/** The number of rotated dims per head (TransformerLens's `rotary_dim`; all of d_head when unset). */
export function rotaryDim(cfg: HookedTransformerConfig): number {
  return cfg.rotaryDim ?? cfg.dHead;
}

/**
 * The position of each token: 0.. along the row, or, with a padding mask [batch, pos], counted
 * over real tokens only (the first real token is 0 whatever padding precedes it), as TL does.
 */
function positions(
  batch: number,
  pos: number,
  padMask: readonly (readonly number[])[] | undefined,
): number[][] {
  if (!padMask) return [Array.from({ length: pos }, (_, p) => p)];
  return Array.from({ length: batch }, (_, b) => {
    let seen = 0;
    return Array.from({ length: pos }, (__, p) => {
      if (padMask[b][p] > 0) seen++;
      return Math.max(seen - 1, 0);
    });
  });
}

/**
 * Each pair's angular frequency, `base^(−2j / r)`, adjusted as Llama 3.x's "NTK by parts" rule
 * says when `useNtkByPartsRope`: with wavelength λ = 2π / f and the original context L,
 * λ > L / low → f / factor; λ < L / high → f; in between a blend that moves from f / factor
 * to f as L / λ goes from `low` to `high`.
 */
export function rotaryFrequencies(cfg: HookedTransformerConfig): number[] {
  const r = rotaryDim(cfg);
  const freqs = Array.from({ length: r / 2 }, (_, j) => Math.pow(cfg.rotaryBase, (-2 * j) / r));
  if (!cfg.useNtkByPartsRope) return freqs;
  const {
    ntkByPartsFactor: factor,
    ntkByPartsLowFreqFactor: low,
    ntkByPartsHighFreqFactor: high,
    ntkOriginalCtxLen: ctx,
  } = cfg;
  return freqs.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength > ctx / low) return f / factor;
    if (wavelength < ctx / high) return f;
    const smooth = (ctx / wavelength - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * The rotation tables for a forward pass. Angles are computed on the host in float64 and stored
 * as float32, so long positions lose no precision to a float32 `pos · freq` product.
 */
export function rotaryTables(
  cfg: HookedTransformerConfig,
  batch: number,
  pos: number,
  padMask: readonly (readonly number[])[] | undefined,
): RotaryTables {
  return rotaryTablesAt(cfg, positions(batch, pos, padMask));
}

/**
 * The rotation tables of given positions [batch or 1][pos]: a pass over new tokens only (a
 * key/value cache) rotates them at their place in the whole sequence, not from 0.
 */
export function rotaryTablesAt(
  cfg: HookedTransformerConfig,
  rows: readonly (readonly number[])[],
): RotaryTables {
  const half = rotaryDim(cfg) / 2;
  const pos = rows[0]?.length ?? 0;
  const cos = new Float32Array(rows.length * pos * half);
  const sin = new Float32Array(rows.length * pos * half);
  const freqs = rotaryFrequencies(cfg);
  rows.forEach((row, b) => {
    row.forEach((p, i) => {
      for (let j = 0; j < half; j++) {
        const angle = p * freqs[j];
        cos[(b * pos + i) * half + j] = Math.cos(angle);
        sin[(b * pos + i) * half + j] = Math.sin(angle);
      }
    });
  });
  const shape = [rows.length, pos, 1, half];
  return { cos: tf.tensor(cos, shape), sin: tf.tensor(sin, shape) };
}

/** Rotates the first `rotaryDim` dims of each head of x [batch, pos, heads, d_head]. */
export function applyRotary(x: tf.Tensor, cfg: HookedTransformerConfig, tables: RotaryTables): tf.Tensor {
  const [b, p, h, dh] = x.shape;
  const r = rotaryDim(cfg);
  const half = r / 2;
  const rot = r === dh ? x : tf.slice(x, [0, 0, 0, 0], [b, p, h, r]);
  const { cos, sin } = tables;
  let turned: tf.Tensor;
  if (cfg.rotaryAdjacentPairs) {
    // [.., r] → [.., r/2, 2]: element 0 of each pair is x₁, element 1 is x₂.
    const pairs = tf.reshape(rot, [b, p, h, half, 2]);
    const x1 = tf.squeeze(tf.slice(pairs, [0, 0, 0, 0, 0], [b, p, h, half, 1]), [4]);
    const x2 = tf.squeeze(tf.slice(pairs, [0, 0, 0, 0, 1], [b, p, h, half, 1]), [4]);
    const y1 = tf.sub(tf.mul(x1, cos), tf.mul(x2, sin));
    const y2 = tf.add(tf.mul(x1, sin), tf.mul(x2, cos));
    turned = tf.reshape(tf.stack([y1, y2], 4), [b, p, h, r]);
  } else {
    const x1 = tf.slice(rot, [0, 0, 0, 0], [b, p, h, half]);
    const x2 = tf.slice(rot, [0, 0, 0, half], [b, p, h, half]);
    turned = tf.concat(
      [tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))],
      3,
    );
  }
  if (r === dh) return turned;
  return tf.concat([turned, tf.slice(x, [0, 0, 0, r], [b, p, h, dh - r])], 3);
}
