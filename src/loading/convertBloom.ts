/**
 * Hugging Face BLOOM weights → TransformerLens's state dict. Like GPT-NeoX, q, k and v are one
 * `query_key_value` projection whose rows are grouped per head ([heads, 3, d_head]); the
 * embedding has its own LayerNorm (TL's `embed.ln`), and the unembedding is tied to it.
 */
import { perHeadFusedQkv, type WeightTable } from './weightTable.js';

/** BLOOM's mapping (BloomForCausalLM). */
export const BLOOM_WEIGHTS: WeightTable = {
  family: 'BLOOM',
  prefixes: ['transformer.'],
  layers: 'h.',
  embed: [
    { tl: 'embed.W_E', hf: 'word_embeddings.weight', shape: ['vocab', 'd'] },
    { tl: 'embed.ln.w', hf: 'word_embeddings_layernorm.weight', shape: ['d'] },
    { tl: 'embed.ln.b', hf: 'word_embeddings_layernorm.bias', shape: ['d'] },
  ],
  block: [
    { tl: 'ln1.w', hf: 'input_layernorm.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'input_layernorm.bias', shape: ['d'] },
    ...perHeadFusedQkv('self_attention.query_key_value'),
    { tl: 'attn.W_O', hf: 'self_attention.dense.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'self_attention.dense.bias', shape: ['d'] },
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
    { tl: 'ln_final.w', hf: 'ln_f.weight', shape: ['d'] },
    { tl: 'ln_final.b', hf: 'ln_f.bias', shape: ['d'] },
    {
      tl: 'unembed.W_U',
      hf: 'lm_head.weight',
      tiedTo: 'word_embeddings.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
    { tl: 'unembed.b_U', shape: ['vocabOut'] },
  ],
  ignore: [],
};
