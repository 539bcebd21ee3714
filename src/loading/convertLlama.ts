/**
 * Hugging Face Llama weights → TransformerLens's state dict: RMSNorm weights only, separate
 * q/k/v/o projections (`nn.Linear`, [out, in]), a gated MLP (gate → W_gate, up → W_in,
 * down → W_out). Keys and values of grouped-query models keep their n_key_value_heads heads,
 * stored as TL does under `_W_K` / `_W_V`. Biases Llama lacks are zeros in TL's layout.
 */
import type { SafetensorsTensor } from './safetensors.js';
import { convertCheckpoint, type ConvertConfig, type ConvertOptions } from './convertCheckpoint.js';
import type { StateDict } from './toTensor.js';
import type { WeightEntry, WeightTable } from './weightTable.js';

/** Llama-layout q/k/v projections and their biases: read when present (`attention_bias: true`), else zeros. */
export function qkv(ifAbsent: 'zeros' | 'error'): WeightEntry[] {
  return (['q', 'k', 'v'] as const).flatMap((x) => {
    const heads = x === 'q' ? ('h' as const) : ('g' as const);
    const width = x === 'q' ? 'q' : 'kv';
    return [
      {
        tl: `attn.W_${x.toUpperCase()}`,
        hf: `self_attn.${x}_proj.weight`,
        shape: [width, 'd'],
        op: 'heads',
        heads,
      },
      {
        tl: `attn.b_${x.toUpperCase()}`,
        hf: `self_attn.${x}_proj.bias`,
        shape: [width],
        op: 'headBias',
        heads,
        ifAbsent,
      },
    ];
  });
}

/**
 * Llama's mapping. `unembed.W_U` is `lm_head.weight`ᵀ, or the tied `embed_tokens` when the head
 * is absent; `unembed.b_U`, `mlp.b_in` and `mlp.b_out` are zeros (TL's gated MLP has those
 * biases, Llama does not).
 */
export const LLAMA_WEIGHTS: WeightTable = {
  family: 'Llama',
  prefixes: ['model.'],
  layers: 'layers.',
  embed: [{ tl: 'embed.W_E', hf: 'embed_tokens.weight', shape: ['vocab', 'd'] }],
  block: [
    { tl: 'ln1.w', hf: 'input_layernorm.weight', shape: ['d'] },
    ...qkv('zeros'),
    { tl: 'attn.W_O', hf: 'self_attn.o_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'self_attn.o_proj.bias', shape: ['d'], ifAbsent: 'zeros' },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'post_attention_layernorm.weight', shape: ['d'] },
    { tl: 'mlp.W_gate', hf: 'mlp.gate_proj.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.W_in', hf: 'mlp.up_proj.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.b_in', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'mlp.down_proj.weight', shape: ['d', 'm'], op: 'transpose' },
    { tl: 'mlp.b_out', shape: ['d'] },
  ],
  final: [
    { tl: 'ln_final.w', hf: 'norm.weight', shape: ['d'] },
    {
      tl: 'unembed.W_U',
      hf: 'lm_head.weight',
      tiedTo: 'embed_tokens.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
    { tl: 'unembed.b_U', shape: ['vocabOut'] },
  ],
  // The rotary frequencies some checkpoints saved as a buffer.
  ignore: [/^layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/],
};

/** Qwen2 / Qwen2.5: Llama's layout, with q/k/v biases always present (o_proj has none). */
export const QWEN2_WEIGHTS: WeightTable = {
  ...LLAMA_WEIGHTS,
  family: 'Qwen2',
  block: [
    { tl: 'ln1.w', hf: 'input_layernorm.weight', shape: ['d'] },
    ...qkv('error'),
    { tl: 'attn.W_O', hf: 'self_attn.o_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', shape: ['d'] },
  ],
};

/** Mistral: Llama's layout exactly (its sliding window is a config matter). */
export const MISTRAL_WEIGHTS: WeightTable = { ...LLAMA_WEIGHTS, family: 'Mistral' };

/** Converts Llama tensors (with or without the `model.` prefix) by {@link LLAMA_WEIGHTS}. */
export function convertLlama(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: ConvertConfig,
  options: ConvertOptions = {},
): StateDict {
  return convertCheckpoint(LLAMA_WEIGHTS, tensors, cfg, options);
}
