/**
 * Hugging Face GPT-Neo weights → TransformerLens's state dict. GPT-Neo stores its linear layers
 * as `nn.Linear` ([out, in]) and has separate q/k/v projections without biases: TL's b_Q, b_K
 * and b_V are zeros (fold_ln later gives them the LayerNorm bias's contribution).
 */
import type { SafetensorsTensor } from './safetensors.js';
import { convertCheckpoint, type ConvertConfig, type ConvertOptions } from './convertCheckpoint.js';
import type { StateDict } from './toTensor.js';
import type { WeightTable } from './weightTable.js';

/** GPT-Neo's mapping: `unembed.W_U` is `lm_head.weight`ᵀ, or the tied `wte`; `unembed.b_U` is zeros. */
export const GPT_NEO_WEIGHTS: WeightTable = {
  family: 'GPT-Neo',
  prefixes: ['transformer.'],
  layers: 'h.',
  embed: [
    { tl: 'embed.W_E', hf: 'wte.weight', shape: ['vocab', 'd'] },
    { tl: 'pos_embed.W_pos', hf: 'wpe.weight', shape: ['ctx', 'd'] },
  ],
  block: [
    { tl: 'ln1.w', hf: 'ln_1.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'ln_1.bias', shape: ['d'] },
    ...(['q', 'k', 'v'] as const).flatMap((x) => [
      {
        tl: `attn.W_${x.toUpperCase()}`,
        hf: `attn.attention.${x}_proj.weight`,
        shape: ['q', 'd'],
        op: 'heads' as const,
      },
      { tl: `attn.b_${x.toUpperCase()}`, shape: ['h', 'dh'] },
    ]),
    { tl: 'attn.W_O', hf: 'attn.attention.out_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'attn.attention.out_proj.bias', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'ln_2.weight', shape: ['d'] },
    { tl: 'ln2.b', hf: 'ln_2.bias', shape: ['d'] },
    { tl: 'mlp.W_in', hf: 'mlp.c_fc.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.b_in', hf: 'mlp.c_fc.bias', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'mlp.c_proj.weight', shape: ['d', 'm'], op: 'transpose' },
    { tl: 'mlp.b_out', hf: 'mlp.c_proj.bias', shape: ['d'] },
  ],
  final: [
    { tl: 'ln_final.w', hf: 'ln_f.weight', shape: ['d'] },
    { tl: 'ln_final.b', hf: 'ln_f.bias', shape: ['d'] },
    {
      tl: 'unembed.W_U',
      hf: 'lm_head.weight',
      tiedTo: 'wte.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
    { tl: 'unembed.b_U', shape: ['vocabOut'] },
  ],
  // Causal-mask buffers old checkpoints carry.
  ignore: [/^h\.\d+\.attn\.attention\.(bias|masked_bias)$/],
};

/** Converts GPT-Neo tensors (with or without the `transformer.` prefix) by {@link GPT_NEO_WEIGHTS}. */
export function convertGptNeo(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: ConvertConfig,
  options: ConvertOptions = {},
): StateDict {
  return convertCheckpoint(GPT_NEO_WEIGHTS, tensors, cfg, options);
}
