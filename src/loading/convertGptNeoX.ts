/**
 * Hugging Face GPT-NeoX (Pythia) weights → TransformerLens's state dict.
 *
 * NeoX fuses q, k and v into one `query_key_value` projection whose output rows are ordered
 * per head: row `head·3·dh + which·dh + e` (which = 0 q, 1 k, 2 v) — HF reshapes the output to
 * [.., heads, 3·dh] and splits the last axis. (GPT-2's fused c_attn is ordered q|k|v instead.)
 */
import type { HookedTransformerConfig } from '../core/config.js';
import type { ConvertOptions } from './convertGpt2.js';
import type { SafetensorsTensor } from './safetensors.js';
import {
  HfTensorSource,
  biasToHeads,
  copyArray,
  linearToHeads,
  linearToOutHeads,
  transposeArray,
  zerosArray,
} from './hfTensors.js';
import type { StateDict } from './toTensor.js';

/**
 * Converts GPT-NeoX tensors (with or without the `gpt_neox.` prefix). `unembed.W_U` is
 * `embed_out.weight`ᵀ (NeoX unties it), or `embed_in` when the head is absent; `unembed.b_U` is
 * zeros. Buffers (`attention.bias`, `masked_bias`, `rotary_emb.inv_freq`) are ignored.
 * @throws CheckpointError naming the tensor and the source when one is missing, not float or
 *   of the wrong shape, or when the checkpoint has more layers than the config.
 */
export function convertGptNeoX(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: HookedTransformerConfig,
  options: ConvertOptions = {},
): StateDict {
  const src = new HfTensorSource(tensors, options.source ?? 'checkpoint', ['gpt_neox.']);
  const { nLayers, dModel: d, nHeads: h, dHead: dh, dVocab, dVocabOut } = cfg;
  const m = cfg.dMlp ?? 4 * d;
  src.checkLayerCount(nLayers, /^(?:gpt_neox\.)?layers\.(\d+)\./);

  const sd: StateDict = new Map();
  const embed = src.get('embed_in.weight', [dVocab, d], 'embed.W_E');
  sd.set('embed.W_E', copyArray(embed));
  for (let l = 0; l < nLayers; l++) {
    const p = `layers.${l}.`;
    const b = `blocks.${l}.`;
    src.copyTo(sd, `${p}input_layernorm.weight`, `${b}ln1.w`, [d]);
    src.copyTo(sd, `${p}input_layernorm.bias`, `${b}ln1.b`, [d]);
    const qkv = src.get(`${p}attention.query_key_value.weight`, [3 * h * dh, d], `${b}attn.W_Q/W_K/W_V`);
    const qkvBias = src.get(`${p}attention.query_key_value.bias`, [3 * h * dh], `${b}attn.b_Q/b_K/b_V`);
    ['Q', 'K', 'V'].forEach((name, which) => {
      const rowOf = (head: number, e: number): number => head * 3 * dh + which * dh + e;
      sd.set(`${b}attn.W_${name}`, linearToHeads(qkv, h, dh, rowOf));
      sd.set(`${b}attn.b_${name}`, biasToHeads(qkvBias, h, dh, rowOf));
    });
    const wO = src.get(`${p}attention.dense.weight`, [d, h * dh], `${b}attn.W_O`);
    sd.set(`${b}attn.W_O`, linearToOutHeads(wO, h, dh));
    src.copyTo(sd, `${p}attention.dense.bias`, `${b}attn.b_O`, [d]);
    src.copyTo(sd, `${p}post_attention_layernorm.weight`, `${b}ln2.w`, [d]);
    src.copyTo(sd, `${p}post_attention_layernorm.bias`, `${b}ln2.b`, [d]);
    src.transposeTo(sd, `${p}mlp.dense_h_to_4h.weight`, `${b}mlp.W_in`, [m, d]);
    src.copyTo(sd, `${p}mlp.dense_h_to_4h.bias`, `${b}mlp.b_in`, [m]);
    src.transposeTo(sd, `${p}mlp.dense_4h_to_h.weight`, `${b}mlp.W_out`, [d, m]);
    src.copyTo(sd, `${p}mlp.dense_4h_to_h.bias`, `${b}mlp.b_out`, [d]);
  }
  src.copyTo(sd, 'final_layer_norm.weight', 'ln_final.w', [d]);
  src.copyTo(sd, 'final_layer_norm.bias', 'ln_final.b', [d]);
  const head = src.has('embed_out.weight')
    ? src.get('embed_out.weight', [dVocabOut, d], 'unembed.W_U')
    : embed;
  sd.set('unembed.W_U', transposeArray(head));
  sd.set('unembed.b_U', zerosArray([dVocabOut]));
  return sd;
}
