/**
 * The building blocks of a forward pass as plain functions of tensors. Each one reports its
 * intermediate activations through `emit`, which returns the activation to carry on with
 * (a hook may have replaced it). Callers run them inside `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import { chunkedMatMul } from '../../graph/index.js';
import type { HookedTransformerConfig } from '../core/config.js';
import type { StateDict } from '../core/stateDict.js';
import {
  blasLinear,
  centres,
  normalizeCore,
  simdNormalize,
  type NormKind,
} from '../backend/kernels/index.js';
import { flattenHeads } from './projectionWeights.js';

/** Reports an activation at hook point `name`; returns the activation downstream code must use. */
export type Emit = (name: string, activation: tf.Tensor) => tf.Tensor;

/** Looks a parameter up, failing loudly (a bug, not user input: loaders validate state dicts). */
export function param(params: StateDict, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`internal: parameter ${name} missing`);
  return t;
}

/**
 * Normalization with TransformerLens's hooks: `{prefix}.hook_scale` [.., 1] then
 * `{prefix}.hook_normalized`. LN and LNPre centre first; RMS variants do not. The affine
 * weights apply only to LN and RMS (the folded kinds have none): LN's inside the hook, RMS's after it.
 * `kind` overrides the config's kind (the post-sublayer norms of Gemma 2 keep their weights when
 * the others are folded).
 */
export function normalize(
  x: tf.Tensor,
  cfg: HookedTransformerConfig,
  params: StateDict,
  prefix: string,
  emit: Emit,
  kind: HookedTransformerConfig['normalizationType'] = cfg.normalizationType,
  observes: (name: string) => boolean = () => true,
): tf.Tensor {
  if (kind === null) return x;
  const w = kind === 'LN' || kind === 'RMS' ? param(params, `${prefix}.w`) : undefined;
  const b = kind === 'LN' ? param(params, `${prefix}.b`) : undefined;
  if (!observes(`${prefix}.hook_scale`) && !observes(`${prefix}.hook_normalized`)) {
    // Neither hook is looked at: one fused kernel on webgpu and wasm, the same ops as below elsewhere.
    return normalizeCore(x, { kind, eps: cfg.eps, w, b });
  }
  // On wasm one SIMD kernel gives the scale and x / scale (less the mean), LN's affine applied. A
  // hook that replaced the scale, or the identity a gradient pass records its gradient through,
  // gets (x / scale) · (scale / its scale) from a second kernel without the affine, then the
  // affine as tfjs ops: the same values when the scales are equal (scale / scale is exactly 1),
  // the same gradient as the plain ops'.
  const fused =
    kind === 'LN' ? simdNormalize(x, true, cfg.eps, w, b) : simdNormalize(x, centres(kind), cfg.eps);
  const centred = fused ? undefined : centredOf(x, kind);
  const scale = emit(
    `${prefix}.hook_scale`,
    fused ? fused[0] : tf.sqrt(tf.add(tf.mean(tf.square(centred as tf.Tensor), -1, true), cfg.eps)),
  );
  let normed: tf.Tensor;
  if (fused && scale === fused[0]) normed = fused[1];
  else {
    const unweighted = fused && kind === 'LN' ? simdNormalize(x, true, cfg.eps) : fused;
    normed = unweighted
      ? tf.mul(unweighted[1], tf.div(unweighted[0], scale))
      : tf.div(centred as tf.Tensor, scale);
    if (kind === 'LN') normed = tf.add(tf.mul(normed, w as tf.Tensor), b as tf.Tensor);
  }
  // TransformerLens hooks LayerNorm after its affine (x·w + b) but RMSNorm before its weight
  // (x / scale), then multiplies by w: a hook on an RMS model's hook_normalized sees x / scale.
  const seen = emit(`${prefix}.hook_normalized`, normed);
  return kind === 'RMS' ? tf.mul(seen, w as tf.Tensor) : seen;
}

/** x less its mean over the last axis for the centring kinds, x itself for the RMS kinds. */
function centredOf(x: tf.Tensor, kind: NormKind): tf.Tensor {
  return centres(kind) ? tf.sub(x, tf.mean(x, -1, true)) : x;
}

/** `cap · tanh(x / cap)`: Gemma 2's soft capping of attention scores and logits. */
export function softCap(x: tf.Tensor, cap: number): tf.Tensor {
  return tf.mul(tf.tanh(tf.div(x, cap)), cap);
}

/**
 * x · w (+ b) → `outShape`: x as rows of `inner` values, w as `inner` rows (any shape of that
 * size, read row-major), b as the output's trailing axes. One BLAS kernel on wasm (blasLinear),
 * else a 2-D matMul (no einsum: wasm lacks it) and a bias add.
 */
function dense(x: tf.Tensor, w: tf.Tensor, inner: number, outShape: number[], b?: tf.Tensor): tf.Tensor {
  const fused = blasLinear(x, w, inner, outShape, b);
  if (fused) return fused;
  // Split to the backend's binding limit: an unembedding (d_model × d_vocab) or a long batch of
  // logits can be larger than one WebGPU binding.
  const y = chunkedMatMul(
    tf.reshape<tf.Rank.R2>(x, [-1, inner]),
    w.rank === 2 ? w : tf.reshape<tf.Rank.R2>(w, [inner, -1]),
  );
  const out = tf.reshape(y, outShape);
  return b ? tf.add(out, b) : out;
}

/** x [..., d] @ w [d, n] (+ b [n]) → [..., n]. */
export function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [d, n] = w.shape as [number, number];
  return dense(x, w, d, [...x.shape.slice(0, -1), n], b);
}

/**
 * x [b, p, d] through per-head weights w [h, d, dh] (+ b [h, dh]) → [b, p, h, dh]. `flat` is w
 * already laid out as [d, h·dh] (see projectionWeights.ts); without it w is transposed here.
 */
export function headProjection(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, flat?: tf.Tensor): tf.Tensor {
  const [h, d, dh] = w.shape;
  return dense(x, flat ?? flattenHeads(w), d, [...x.shape.slice(0, -1), h, dh], b);
}

/**
 * z [b, p, h, dh] through the output weights W_O [h, dh, d] (+ b_O [d]) → [b, p, d]: the heads'
 * sum, as one product over h·dh.
 */
export function headsOut(z: tf.Tensor, W_O: tf.Tensor, b_O: tf.Tensor): tf.Tensor {
  const [h, dh, d] = W_O.shape;
  return dense(z, W_O, h * dh, [...z.shape.slice(0, -2), d], b_O);
}

/**
 * Which keys each query may attend to, [b or 1, 1, q, k]: causal, within the window for local
 * layers, and never a padding key when an attention mask [b, k] is given. With `keys` > `pos` the
 * queries are the last `pos` of `keys` positions (new tokens after cached ones).
 */
export function attentionMask(
  cfg: HookedTransformerConfig,
  layer: number,
  pos: number,
  padMask: tf.Tensor | undefined,
  keys: number = pos,
): tf.Tensor {
  const local = cfg.attnTypes?.[layer] === 'local' && cfg.windowSize !== null;
  const offset = keys - pos;
  const allowed = new Uint8Array(pos * keys);
  for (let q = 0; q < pos; q++) {
    const at = q + offset;
    for (let k = 0; k <= at; k++) {
      if (!local || at - k < (cfg.windowSize ?? keys)) allowed[q * keys + k] = 1;
    }
  }
  const causal = tf.tensor(allowed, [1, 1, pos, keys], 'bool');
  if (!padMask) return causal;
  const keyMask = tf.cast(tf.reshape(padMask, [padMask.shape[0], 1, 1, keys]), 'bool');
  return tf.logicalAnd(causal, keyMask);
}
