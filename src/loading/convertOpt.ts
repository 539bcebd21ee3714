/**
 * Hugging Face OPT weights → TransformerLens's state dict. OPT's learned positions start at row
 * 2 of `embed_positions` (its first two rows are an offset HF adds to every position), so TL's
 * W_pos is rows 2…n_ctx+1; the unembedding is tied to the token embedding.
 */
import type { WeightTable } from './weightTable.js';

/** OPT's mapping (OPTForCausalLM, pre-LN variants). */
export const OPT_WEIGHTS: WeightTable = {
  family: 'OPT',
  // OPTModel checkpoints (no LM head) name the decoder without `model.`.
  prefixes: ['model.decoder.', 'decoder.'],
  layers: 'layers.',
  embed: [
    { tl: 'embed.W_E', hf: 'embed_tokens.weight', shape: ['vocab', 'd'] },
    {
      tl: 'pos_embed.W_pos',
      hf: 'embed_positions.weight',
      shape: ['2+ctx', 'd'],
      part: { split: ['2', 'ctx'], index: 1 },
    },
  ],
  block: [
    { tl: 'ln1.w', hf: 'self_attn_layer_norm.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'self_attn_layer_norm.bias', shape: ['d'] },
    ...(['q', 'k', 'v'] as const).flatMap((x) => [
      {
        tl: `attn.W_${x.toUpperCase()}`,
        hf: `self_attn.${x}_proj.weight`,
        shape: ['q', 'd'],
        op: 'heads' as const,
      },
      {
        tl: `attn.b_${x.toUpperCase()}`,
        hf: `self_attn.${x}_proj.bias`,
        shape: ['q'],
        op: 'headBias' as const,
      },
    ]),
    { tl: 'attn.W_O', hf: 'self_attn.out_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', hf: 'self_attn.out_proj.bias', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'final_layer_norm.weight', shape: ['d'] },
    { tl: 'ln2.b', hf: 'final_layer_norm.bias', shape: ['d'] },
    { tl: 'mlp.W_in', hf: 'fc1.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.b_in', hf: 'fc1.bias', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'fc2.weight', shape: ['d', 'm'], op: 'transpose' },
    { tl: 'mlp.b_out', hf: 'fc2.bias', shape: ['d'] },
  ],
  final: [
    // The decoder's own final norm, not a block's (`layers.N.final_layer_norm` is ln2).
    { tl: 'ln_final.w', hf: 'final_layer_norm.weight', shape: ['d'] },
    { tl: 'ln_final.b', hf: 'final_layer_norm.bias', shape: ['d'] },
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
