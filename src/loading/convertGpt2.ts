/**
 * Hugging Face GPT-2 weights → TransformerLens's state dict, as TransformerLens's
 * `convert_gpt2_weights`. GPT-2 stores its linear layers as Conv1D, i.e. [in, out]; q, k and v
 * are concatenated on the out axis of `c_attn`, each head-major ((head, d_head) flattened).
 */
import type { SafetensorsTensor } from './safetensors.js';
import { convertCheckpoint, type ConvertConfig, type ConvertOptions } from './convertCheckpoint.js';
import type { StateDict } from './toTensor.js';
import type { WeightTable } from './weightTable.js';

export type { ConvertOptions } from './convertCheckpoint.js';

const QKV = ['q', 'q', 'q'];

/**
 * GPT-2's mapping. Buffers (`attn.bias`, `attn.masked_bias`) are ignored; `unembed.W_U` is
 * `lm_head.weight`ᵀ when present, else tied to `wte`; `unembed.b_U` is zeros. With `attnOnly`
 * (lazylens's `attn_only` config extension) the blocks have no `ln_2`/`mlp` tensors.
 */
export const GPT2_WEIGHTS: WeightTable = {
  family: 'GPT-2',
  prefixes: ['transformer.'],
  layers: 'h.',
  embed: [
    { tl: 'embed.W_E', hf: 'wte.weight', shape: ['vocab', 'd'] },
    { tl: 'pos_embed.W_pos', hf: 'wpe.weight', shape: ['ctx', 'd'] },
  ],
  block: [
    { tl: 'ln1.w', hf: 'ln_1.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'ln_1.bias', shape: ['d'] },
    ...['Q', 'K', 'V'].flatMap((x, index) => [
      {
        tl: `attn.W_${x}`,
        hf: 'attn.c_attn.weight',
        shape: ['d', '3q'],
        layout: 'conv1d' as const,
        part: { split: QKV, index },
        op: 'heads' as const,
      },
      {
        tl: `attn.b_${x}`,
        hf: 'attn.c_attn.bias',
        shape: ['3q'],
        part: { split: QKV, index },
        op: 'headBias' as const,
      },
    ]),
    { tl: 'attn.W_O', hf: 'attn.c_proj.weight', shape: ['q', 'd'], layout: 'conv1d', op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'attn.c_proj.bias', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'ln_2.weight', shape: ['d'] },
    { tl: 'ln2.b', hf: 'ln_2.bias', shape: ['d'] },
    // Conv1D's [in, out] is TL's layout already: "transpose" of the [out, in] view.
    { tl: 'mlp.W_in', hf: 'mlp.c_fc.weight', shape: ['d', 'm'], layout: 'conv1d', op: 'transpose' },
    { tl: 'mlp.b_in', hf: 'mlp.c_fc.bias', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'mlp.c_proj.weight', shape: ['m', 'd'], layout: 'conv1d', op: 'transpose' },
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
  ignore: [/^h\.\d+\.attn\.(bias|masked_bias)$/],
};

/**
 * Converts GPT-2 weights (names with or without the `transformer.` prefix) by {@link GPT2_WEIGHTS}.
 * @throws CheckpointError as {@link convertCheckpoint}.
 */
export function convertGpt2(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: ConvertConfig,
  options: ConvertOptions = {},
): StateDict {
  return convertCheckpoint(GPT2_WEIGHTS, tensors, cfg, options);
}
