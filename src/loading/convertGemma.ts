/**
 * Hugging Face Gemma and Gemma 2 weights → TransformerLens's state dict. Llama's layout, with
 * two changes folded into the weights as TL does: Gemma multiplies its embeddings by
 * √d_model (so `embed.W_E` is scaled; the tied unembedding is not), and its RMSNorms multiply by
 * (1 + w) (so TL's norm weights are w + 1). Gemma 2 adds a norm after each sublayer.
 */
import { qkv } from './convertLlama.js';
import type { WeightEntry, WeightTable } from './weightTable.js';

const norm = (tl: string, hf: string): WeightEntry => ({ tl, hf, shape: ['d'], plus: 1 });

const ATTENTION: WeightEntry[] = [
  ...qkv('zeros'),
  { tl: 'attn.W_O', hf: 'self_attn.o_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
  { tl: 'attn.b_O', hf: 'self_attn.o_proj.bias', shape: ['d'], ifAbsent: 'zeros' },
];

const GATED_MLP: WeightEntry[] = [
  { tl: 'mlp.W_gate', hf: 'mlp.gate_proj.weight', shape: ['m', 'd'], op: 'transpose' },
  { tl: 'mlp.W_in', hf: 'mlp.up_proj.weight', shape: ['m', 'd'], op: 'transpose' },
  { tl: 'mlp.b_in', shape: ['m'] },
  { tl: 'mlp.W_out', hf: 'mlp.down_proj.weight', shape: ['d', 'm'], op: 'transpose' },
  { tl: 'mlp.b_out', shape: ['d'] },
];

const TOP = {
  prefixes: ['model.'],
  layers: 'layers.',
  embed: [{ tl: 'embed.W_E', hf: 'embed_tokens.weight', shape: ['vocab', 'd'], timesSqrtD: true }],
  final: [
    norm('ln_final.w', 'norm.weight'),
    {
      tl: 'unembed.W_U',
      hf: 'lm_head.weight',
      tiedTo: 'embed_tokens.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
    { tl: 'unembed.b_U', shape: ['vocabOut'] },
  ],
  ignore: [/^layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/],
} satisfies Partial<WeightTable>;

/** Gemma's mapping (GemmaForCausalLM). */
export const GEMMA_WEIGHTS: WeightTable = {
  ...TOP,
  family: 'Gemma',
  block: [norm('ln1.w', 'input_layernorm.weight'), ...ATTENTION],
  mlp: [norm('ln2.w', 'post_attention_layernorm.weight'), ...GATED_MLP],
};

/**
 * Gemma 2's mapping (Gemma2ForCausalLM). Its `post_attention_layernorm` is the norm *after*
 * attention (TL's ln1_post), not the MLP's input norm as in Llama.
 */
export const GEMMA2_WEIGHTS: WeightTable = {
  ...TOP,
  family: 'Gemma 2',
  block: [
    norm('ln1.w', 'input_layernorm.weight'),
    ...ATTENTION,
    norm('ln1_post.w', 'post_attention_layernorm.weight'),
  ],
  mlp: [
    norm('ln2.w', 'pre_feedforward_layernorm.weight'),
    ...GATED_MLP,
    norm('ln2_post.w', 'post_feedforward_layernorm.weight'),
  ],
};
