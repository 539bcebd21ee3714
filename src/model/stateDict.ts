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
 * The names and shapes of every parameter a model with `cfg` has. Norm weights exist only for
 * the affine kinds (LN: w and b; RMS: w); folded models (LNPre / RMSPre) have none.
 */
export function expectedParamShapes(cfg: HookedTransformerConfig): Map<string, number[]> {
  const { dModel: d, nHeads: h, dHead: dh, dVocab: v, dVocabOut: vo, nCtx } = cfg;
  const out = new Map<string, number[]>();
  const norm = (prefix: string): void => {
    if (!hasAffine(cfg)) return;
    out.set(`${prefix}.w`, [d]);
    if (isLn(cfg)) out.set(`${prefix}.b`, [d]);
  };
  out.set('embed.W_E', [v, d]);
  if (cfg.positionalEmbeddingType === 'standard') out.set('pos_embed.W_pos', [nCtx, d]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `blocks.${l}`;
    norm(`${p}.ln1`);
    for (const m of ['Q', 'K', 'V']) {
      out.set(`${p}.attn.W_${m}`, [h, d, dh]);
      out.set(`${p}.attn.b_${m}`, [h, dh]);
    }
    out.set(`${p}.attn.W_O`, [h, dh, d]);
    out.set(`${p}.attn.b_O`, [d]);
    if (!cfg.attnOnly) {
      const m = cfg.dMlp ?? 0;
      norm(`${p}.ln2`);
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
