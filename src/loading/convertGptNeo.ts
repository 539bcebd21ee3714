/**
 * Hugging Face GPT-Neo weights → TransformerLens's state dict. GPT-Neo stores its linear layers
 * as `nn.Linear` ([out, in]) and has separate q/k/v projections without biases: TL's b_Q, b_K
 * and b_V are zeros (fold_ln later gives them the LayerNorm bias's contribution).
 */
import type { HookedTransformerConfig } from '../core/config.js';
import type { ConvertOptions } from './convertGpt2.js';
import type { SafetensorsTensor } from './safetensors.js';
import {
  HfTensorSource,
  copyArray,
  linearToHeads,
  linearToOutHeads,
  transposeArray,
  zerosArray,
} from './hfTensors.js';
import type { StateDict } from './toTensor.js';

/**
 * Converts GPT-Neo tensors (with or without the `transformer.` prefix). `unembed.W_U` is
 * `lm_head.weight`ᵀ, or the tied `wte` when the head is absent; `unembed.b_U` is zeros.
 * @throws CheckpointError naming the tensor and the source when one is missing, not float or
 *   of the wrong shape, or when the checkpoint has more layers than the config.
 */
export function convertGptNeo(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: HookedTransformerConfig,
  options: ConvertOptions = {},
): StateDict {
  const src = new HfTensorSource(tensors, options.source ?? 'checkpoint', ['transformer.']);
  const { nLayers, dModel: d, nHeads: h, dHead: dh, nCtx, dVocab, dVocabOut } = cfg;
  const m = cfg.dMlp ?? 4 * d;
  src.checkLayerCount(nLayers, /^(?:transformer\.)?h\.(\d+)\./);

  const sd: StateDict = new Map();
  const wte = src.get('wte.weight', [dVocab, d], 'embed.W_E');
  sd.set('embed.W_E', copyArray(wte));
  src.copyTo(sd, 'wpe.weight', 'pos_embed.W_pos', [nCtx, d]);
  for (let l = 0; l < nLayers; l++) {
    const p = `h.${l}.`;
    const b = `blocks.${l}.`;
    src.copyTo(sd, `${p}ln_1.weight`, `${b}ln1.w`, [d]);
    src.copyTo(sd, `${p}ln_1.bias`, `${b}ln1.b`, [d]);
    for (const [hf, tl] of [
      ['q_proj', 'Q'],
      ['k_proj', 'K'],
      ['v_proj', 'V'],
    ]) {
      const w = src.get(`${p}attn.attention.${hf}.weight`, [h * dh, d], `${b}attn.W_${tl}`);
      sd.set(`${b}attn.W_${tl}`, linearToHeads(w, h, dh));
      sd.set(`${b}attn.b_${tl}`, zerosArray([h, dh]));
    }
    const wO = src.get(`${p}attn.attention.out_proj.weight`, [d, h * dh], `${b}attn.W_O`);
    sd.set(`${b}attn.W_O`, linearToOutHeads(wO, h, dh));
    src.copyTo(sd, `${p}attn.attention.out_proj.bias`, `${b}attn.b_O`, [d]);
    src.copyTo(sd, `${p}ln_2.weight`, `${b}ln2.w`, [d]);
    src.copyTo(sd, `${p}ln_2.bias`, `${b}ln2.b`, [d]);
    sd.set(`${b}mlp.W_in`, transposeArray(src.get(`${p}mlp.c_fc.weight`, [m, d], `${b}mlp.W_in`)));
    src.copyTo(sd, `${p}mlp.c_fc.bias`, `${b}mlp.b_in`, [m]);
    sd.set(`${b}mlp.W_out`, transposeArray(src.get(`${p}mlp.c_proj.weight`, [d, m], `${b}mlp.W_out`)));
    src.copyTo(sd, `${p}mlp.c_proj.bias`, `${b}mlp.b_out`, [d]);
  }
  src.copyTo(sd, 'ln_f.weight', 'ln_final.w', [d]);
  src.copyTo(sd, 'ln_f.bias', 'ln_final.b', [d]);
  const head = src.has('lm_head.weight') ? src.get('lm_head.weight', [dVocabOut, d], 'unembed.W_U') : wte;
  sd.set('unembed.W_U', transposeArray(head));
  sd.set('unembed.b_U', zerosArray([dVocabOut]));
  return sd;
}
