/**
 * Hugging Face GPT-J weights → TransformerLens's state dict: separate q/k/v/out projections
 * without biases, one LayerNorm per block read by attention and MLP side by side (TL stores it
 * twice, as ln1 and ln2), and an unembedding with a bias.
 */
import type { WeightTable } from './weightTable.js';

/** GPT-J's mapping (GPTJForCausalLM). */
export const GPTJ_WEIGHTS: WeightTable = {
  family: 'GPT-J',
  prefixes: ['transformer.'],
  layers: 'h.',
  embed: [{ tl: 'embed.W_E', hf: 'wte.weight', shape: ['vocab', 'd'] }],
  block: [
    { tl: 'ln1.w', hf: 'ln_1.weight', shape: ['d'] },
    { tl: 'ln1.b', hf: 'ln_1.bias', shape: ['d'] },
    ...(['q', 'k', 'v'] as const).flatMap((x) => [
      {
        tl: `attn.W_${x.toUpperCase()}`,
        hf: `attn.${x}_proj.weight`,
        shape: ['q', 'd'],
        op: 'heads' as const,
      },
      { tl: `attn.b_${x.toUpperCase()}`, shape: ['h', 'dh'] },
    ]),
    { tl: 'attn.W_O', hf: 'attn.out_proj.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', shape: ['d'] },
  ],
  mlp: [
    { tl: 'ln2.w', hf: 'ln_1.weight', shape: ['d'] },
    { tl: 'ln2.b', hf: 'ln_1.bias', shape: ['d'] },
    { tl: 'mlp.W_in', hf: 'mlp.fc_in.weight', shape: ['m', 'd'], op: 'transpose' },
    { tl: 'mlp.b_in', hf: 'mlp.fc_in.bias', shape: ['m'] },
    { tl: 'mlp.W_out', hf: 'mlp.fc_out.weight', shape: ['d', 'm'], op: 'transpose' },
    { tl: 'mlp.b_out', hf: 'mlp.fc_out.bias', shape: ['d'] },
  ],
  final: [
    { tl: 'ln_final.w', hf: 'ln_f.weight', shape: ['d'] },
    { tl: 'ln_final.b', hf: 'ln_f.bias', shape: ['d'] },
    { tl: 'unembed.W_U', hf: 'lm_head.weight', shape: ['vocabOut', 'd'], op: 'transpose' },
    { tl: 'unembed.b_U', hf: 'lm_head.bias', shape: ['vocabOut'] },
  ],
  // Causal-mask buffers old checkpoints carry.
  ignore: [/^h\.\d+\.attn\.(bias|masked_bias)$/],
};
