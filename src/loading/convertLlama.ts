/**
 * Hugging Face Llama weights → TransformerLens's state dict: RMSNorm weights only, separate
 * q/k/v/o projections (`nn.Linear`, [out, in]), a gated MLP (gate → W_gate, up → W_in,
 * down → W_out). Keys and values of grouped-query models keep their n_key_value_heads heads,
 * stored as TL does under `_W_K` / `_W_V`. Biases Llama lacks are zeros in TL's layout.
 */
import type { HookedTransformerConfig } from '../core/config.js';
import { kvParamName } from '../core/stateDict.js';
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
 * Converts Llama tensors (with or without the `model.` prefix). Attention biases are read when
 * the checkpoint has them (`attention_bias: true`), else zeros. `unembed.W_U` is
 * `lm_head.weight`ᵀ, or the tied `embed_tokens` when the head is absent; `unembed.b_U` is zeros.
 * @throws CheckpointError naming the tensor and the source when one is missing, not float or
 *   of the wrong shape, or when the checkpoint has more layers than the config.
 */
export function convertLlama(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: HookedTransformerConfig,
  options: ConvertOptions = {},
): StateDict {
  const src = new HfTensorSource(tensors, options.source ?? 'checkpoint', ['model.']);
  const { nLayers, dModel: d, nHeads: h, dHead: dh, dVocab, dVocabOut } = cfg;
  const g = cfg.nKeyValueHeads ?? h;
  const m = cfg.dMlp ?? 4 * d;
  src.checkLayerCount(nLayers, /^(?:model\.)?layers\.(\d+)\./);

  const sd: StateDict = new Map();
  const embed = src.get('embed_tokens.weight', [dVocab, d], 'embed.W_E');
  sd.set('embed.W_E', copyArray(embed));
  for (let l = 0; l < nLayers; l++) {
    const p = `layers.${l}.`;
    const b = `blocks.${l}.`;
    src.copyTo(sd, `${p}input_layernorm.weight`, `${b}ln1.w`, [d]);
    for (const [hf, tl, heads] of [
      ['q_proj', 'Q', h],
      ['k_proj', 'K', g],
      ['v_proj', 'V', g],
    ] as const) {
      const wName = tl === 'Q' ? `${b}attn.W_Q` : kvParamName(cfg, l, `W_${tl}`);
      const bName = tl === 'Q' ? `${b}attn.b_Q` : kvParamName(cfg, l, `b_${tl}`);
      sd.set(wName, linearToHeads(src.get(`${p}self_attn.${hf}.weight`, [heads * dh, d], wName), heads, dh));
      const biasName = `${p}self_attn.${hf}.bias`;
      sd.set(
        bName,
        src.has(biasName)
          ? biasToHeads(src.get(biasName, [heads * dh], bName), heads, dh)
          : zerosArray([heads, dh]),
      );
    }
    const wO = src.get(`${p}self_attn.o_proj.weight`, [d, h * dh], `${b}attn.W_O`);
    sd.set(`${b}attn.W_O`, linearToOutHeads(wO, h, dh));
    const oBias = `${p}self_attn.o_proj.bias`;
    sd.set(`${b}attn.b_O`, src.has(oBias) ? copyArray(src.get(oBias, [d], `${b}attn.b_O`)) : zerosArray([d]));
    src.copyTo(sd, `${p}post_attention_layernorm.weight`, `${b}ln2.w`, [d]);
    src.transposeTo(sd, `${p}mlp.gate_proj.weight`, `${b}mlp.W_gate`, [m, d]);
    src.transposeTo(sd, `${p}mlp.up_proj.weight`, `${b}mlp.W_in`, [m, d]);
    sd.set(`${b}mlp.b_in`, zerosArray([m]));
    src.transposeTo(sd, `${p}mlp.down_proj.weight`, `${b}mlp.W_out`, [d, m]);
    sd.set(`${b}mlp.b_out`, zerosArray([d]));
  }
  src.copyTo(sd, 'norm.weight', 'ln_final.w', [d]);
  const head = src.has('lm_head.weight') ? src.get('lm_head.weight', [dVocabOut, d], 'unembed.W_U') : embed;
  sd.set('unembed.W_U', transposeArray(head));
  sd.set('unembed.b_U', zerosArray([dVocabOut]));
  return sd;
}
