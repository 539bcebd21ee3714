/**
 * Hugging Face GPT-NeoX (Pythia) weights → TransformerLens's state dict.
 *
 * NeoX fuses q, k and v into one `query_key_value` projection whose output rows are ordered
 * per head: row `head·3·dh + which·dh + e` (which = 0 q, 1 k, 2 v) — HF reshapes the output to
 * [.., heads, 3·dh] and splits the last axis. (GPT-2's fused c_attn is ordered q|k|v instead.)
 */
import type { SafetensorsTensor } from './safetensors.js';
import { convertCheckpoint, type ConvertConfig, type ConvertOptions } from './convertCheckpoint.js';
import type { StateDict } from './toTensor.js';
import { perHeadFusedQkv, type WeightTable } from './weightTable.js';

/**
 * GPT-NeoX's mapping. `unembed.W_U` is `embed_out.weight`ᵀ (NeoX unties it), or `embed_in` when
 * the head is absent; `unembed.b_U` is zeros. Buffers (`attention.bias`, `masked_bias`,
 * `rotary_emb.inv_freq`) are ignored.
 */
export const GPT_NEOX_WEIGHTS: WeightTable = {
  family: 'GPT-NeoX',
  prefixes: ['gpt_neox.'],
  layers: 'layers.',
  embed: [{ tl: 'embed.W_E', hf: 'embed_in.weight', shape: ['vocab', 'd'] }],
  block: [
    { tl: 'ln1.w', hf: 'input_layernorm.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'input_layernorm.bias', shape: ['d'] },
    ...perHeadFusedQkv('attention.query_key_value'),
    { tl: 'attn.W_O', hf: 'attention.dense.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'attention.dense.bias', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'post_attention_layernorm.weight', shape: ['d'] },
    { tl: 'ln2.b', hf: 'post_attention_layernorm.bias', shape: ['d'] },
    { tl: 'mlp.W_in', hf: 'mlp.dense_h_to_4h.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.b_in', hf: 'mlp.dense_h_to_4h.bias', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'mlp.dense_4h_to_h.weight', shape: ['d', 'm'], op: 'transpose' },
    { tl: 'mlp.b_out', hf: 'mlp.dense_4h_to_h.bias', shape: ['d'] },
  ],
  final: [
    { tl: 'ln_final.w', hf: 'final_layer_norm.weight', shape: ['d'] },
    { tl: 'ln_final.b', hf: 'final_layer_norm.bias', shape: ['d'] },
    {
      tl: 'unembed.W_U',
      hf: 'embed_out.weight',
      tiedTo: 'embed_in.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
    { tl: 'unembed.b_U', shape: ['vocabOut'] },
  ],
  ignore: [/^layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/],
};

/** Converts GPT-NeoX tensors (with or without the `gpt_neox.` prefix) by {@link GPT_NEOX_WEIGHTS}. */
export function convertGptNeoX(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: ConvertConfig,
  options: ConvertOptions = {},
): StateDict {
  return convertCheckpoint(GPT_NEOX_WEIGHTS, tensors, cfg, options);
}
