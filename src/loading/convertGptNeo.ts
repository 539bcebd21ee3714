/**
 * Hugging Face GPT-Neo weights → TransformerLens's state dict. GPT-Neo stores its linear layers
 * as `nn.Linear` ([out, in]) and has separate q/k/v projections without biases: TL's b_Q, b_K
 * and b_V are zeros (fold_ln later gives them the LayerNorm bias's contribution).
 */
import type { HookedTransformerConfig } from '../model/config.js';
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
  sd.set('pos_embed.W_pos', copyArray(src.get('wpe.weight', [nCtx, d], 'pos_embed.W_pos')));
  for (let l = 0; l < nLayers; l++) {
    const p = `h.${l}.`;
    const b = `blocks.${l}.`;
    sd.set(`${b}ln1.w`, copyArray(src.get(`${p}ln_1.weight`, [d], `${b}ln1.w`)));
    sd.set(`${b}ln1.b`, copyArray(src.get(`${p}ln_1.bias`, [d], `${b}ln1.b`)));
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
    sd.set(`${b}attn.b_O`, copyArray(src.get(`${p}attn.attention.out_proj.bias`, [d], `${b}attn.b_O`)));
    sd.set(`${b}ln2.w`, copyArray(src.get(`${p}ln_2.weight`, [d], `${b}ln2.w`)));
    sd.set(`${b}ln2.b`, copyArray(src.get(`${p}ln_2.bias`, [d], `${b}ln2.b`)));
    sd.set(`${b}mlp.W_in`, transposeArray(src.get(`${p}mlp.c_fc.weight`, [m, d], `${b}mlp.W_in`)));
    sd.set(`${b}mlp.b_in`, copyArray(src.get(`${p}mlp.c_fc.bias`, [m], `${b}mlp.b_in`)));
    sd.set(`${b}mlp.W_out`, transposeArray(src.get(`${p}mlp.c_proj.weight`, [d, m], `${b}mlp.W_out`)));
    sd.set(`${b}mlp.b_out`, copyArray(src.get(`${p}mlp.c_proj.bias`, [d], `${b}mlp.b_out`)));
  }
  sd.set('ln_final.w', copyArray(src.get('ln_f.weight', [d], 'ln_final.w')));
  sd.set('ln_final.b', copyArray(src.get('ln_f.bias', [d], 'ln_final.b')));
  const head = src.has('lm_head.weight') ? src.get('lm_head.weight', [dVocabOut, d], 'unembed.W_U') : wte;
  sd.set('unembed.W_U', transposeArray(head));
  sd.set('unembed.b_U', zerosArray([dVocabOut]));
  return sd;
}
