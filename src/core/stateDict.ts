/**
 * The parameters of a HookedTransformer under TransformerLens's state-dict names, and the shape
 * each one must have for a config. Loading code checks checkpoints against this table.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from './config.js';

/** TransformerLens parameter name → tensor, e.g. `blocks.0.attn.W_Q` → [n_heads, d_model, d_head]. */
export type StateDict = Map<string, tf.Tensor>;

const isLn = (cfg: HookedTransformerConfig): boolean => cfg.normalizationType === 'LN';
const hasAffine = (cfg: HookedTransformerConfig): boolean =>
  cfg.normalizationType === 'LN' || cfg.normalizationType === 'RMS';

/**
 * The state-dict name of a key/value parameter (`W_K`, `b_K`, `W_V`, `b_V`) of block `layer`.
 * Grouped-query models store them as TL does, under `_W_K` etc. with n_key_value_heads heads;
 * `W_K` is then the repeat-interleaved view (see HookedTransformer's accessors).
 */
export function kvParamName(cfg: HookedTransformerConfig, layer: number, name: string): string {
  return `blocks.${layer}.attn.${cfg.nKeyValueHeads === null ? '' : '_'}${name}`;
}

/**
 * Whether a parameter is a per-head query, key or value weight ([heads, d_model, d_head]: `W_Q`,
 * `W_K`, `W_V`, and grouped models' `_W_K`, `_W_V`), the weights the forward keeps a second,
 * flattened copy of.
 */
export function isHeadProjection(name: string): boolean {
  return /^blocks\.\d+\.attn\._?W_[QKV]$/.test(name);
}

/**
 * The names and shapes of every parameter a model with `cfg` has. Norm weights exist only for
 * the affine kinds (LN: w and b; RMS: w); folded models (LNPre / RMSPre) have none. Gated MLPs
 * add `W_gate` [d_model, d_mlp] (no gate bias, as TL); grouped-query attention stores keys and
 * values as `_W_K` / `_W_V` [n_key_value_heads, d_model, d_head] and `_b_K` / `_b_V`.
 */
export function expectedParamShapes(cfg: HookedTransformerConfig): Map<string, number[]> {
  const { dModel: d, nHeads: h, dHead: dh, dVocab: v, dVocabOut: vo, nCtx } = cfg;
  const out = new Map<string, number[]>();
  const norm = (prefix: string): void => {
    if (!hasAffine(cfg)) return;
    out.set(`${prefix}.w`, [d]);
    if (isLn(cfg)) out.set(`${prefix}.b`, [d]);
  };
  const postNorm = (prefix: string): void => {
    if (cfg.normalizationType === null) return;
    out.set(`${prefix}.w`, [d]);
    if (cfg.normalizationType === 'LN' || cfg.normalizationType === 'LNPre') out.set(`${prefix}.b`, [d]);
  };
  out.set('embed.W_E', [v, d]);
  if (cfg.postEmbeddingLn) {
    out.set('embed.ln.w', [d]);
    out.set('embed.ln.b', [d]);
  }
  if (cfg.positionalEmbeddingType === 'standard') out.set('pos_embed.W_pos', [nCtx, d]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}`;
    norm(`${p}.ln1`);
    out.set(`${p}.attn.W_Q`, [h, d, dh]);
    out.set(`${p}.attn.b_Q`, [h, dh]);
    const g = cfg.nKeyValueHeads ?? h;
    for (const m of ['K', 'V']) {
      out.set(kvParamName(cfg, l, `W_${m}`), [g, d, dh]);
      out.set(kvParamName(cfg, l, `b_${m}`), [g, dh]);
    }
    out.set(`${p}.attn.W_O`, [h, dh, d]);
    out.set(`${p}.attn.b_O`, [d]);
    // Gemma 2's output norms keep their weights after folding (nothing reads them linearly).
    if (cfg.useNormalizationBeforeAndAfter) postNorm(`${p}.ln1_post`);
    if (!cfg.attnOnly) {
      const m = cfg.dMlp ?? 0;
      norm(`${p}.ln2`);
      if (cfg.useNormalizationBeforeAndAfter) postNorm(`${p}.ln2_post`);
      if (cfg.gatedMlp) out.set(`${p}.mlp.W_gate`, [d, m]);
      out.set(`${p}.mlp.W_in`, [d, m]);
      out.set(`${p}.mlp.b_in`, [m]);
      out.set(`${p}.mlp.W_out`, [m, d]);
      out.set(`${p}.mlp.b_out`, [d]);
    }
  }
  norm('ln_final');
  out.set('unembed.W_U', [d, vo]);
  out.set('unembed.b_U', [vo]);
  return out;
}
