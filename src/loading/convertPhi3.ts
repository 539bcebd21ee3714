/**
 * Hugging Face Phi-3 weights → TransformerLens's state dict. Llama's model, with q, k and v fused
 * into one `qkv_proj` (rows q | k | v) and the MLP's gate and up projections into one
 * `gate_up_proj` (rows gate | up); no biases.
 */
import type { WeightTable } from './weightTable.js';

const QKV = ['q', 'kv', 'kv'];
const GATE_UP = ['m', 'm'];

/** Phi-3's mapping (Phi3ForCausalLM). */
export const PHI3_WEIGHTS: WeightTable = {
  family: 'Phi-3',
  prefixes: ['model.'],
  layers: 'layers.',
  embed: [{ tl: 'embed.W_E', hf: 'embed_tokens.weight', shape: ['vocab', 'd'] }],
  block: [
    { tl: 'ln1.w', hf: 'input_layernorm.weight', shape: ['d'] },
    ...(['Q', 'K', 'V'] as const).flatMap((x, index) => [
      {
        tl: `attn.W_${x}`,
        hf: 'self_attn.qkv_proj.weight',
        shape: ['q+2kv', 'd'],
        part: { split: QKV, index },
        op: 'heads' as const,
        heads: x === 'Q' ? ('h' as const) : ('g' as const),
      },
      { tl: `attn.b_${x}`, shape: [x === 'Q' ? 'h' : 'g', 'dh'] },
    ]),
    { tl: 'attn.W_O', hf: 'self_attn.o_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'post_attention_layernorm.weight', shape: ['d'] },
    {
      tl: 'mlp.W_gate',
      hf: 'mlp.gate_up_proj.weight',
      shape: ['2m', 'd'],
      part: { split: GATE_UP, index: 0 },
      op: 'transpose',
    },
    {
      tl: 'mlp.W_in',
      hf: 'mlp.gate_up_proj.weight',
      shape: ['2m', 'd'],
      part: { split: GATE_UP, index: 1 },
      op: 'transpose',
    },
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
  ignore: [],
};
