// config.json → config for GPT-J and OPT, on their published configs trimmed to the fields that
// matter, and the OPT variants TL's block cannot express.
import { describe, expect, it } from 'vitest';
import { hfConfigToConfig } from '../../src/loading/hfConfig.js';

const GPTJ_6B = {
  architectures: ['GPTJForCausalLM'],
  activation_function: 'gelu_new',
  n_embd: 4096,
  n_head: 16,
  n_inner: null,
  n_layer: 28,
  n_positions: 2048,
  rotary_dim: 64,
  layer_norm_epsilon: 1e-5,
  vocab_size: 50400,
};
const OPT_125M = {
  architectures: ['OPTForCausalLM'],
  activation_function: 'relu',
  hidden_size: 768,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  ffn_dim: 3072,
  max_position_embeddings: 2048,
  do_layer_norm_before: true,
  word_embed_proj_dim: 768,
  vocab_size: 50272,
};

describe('hfConfigToConfig (GPT-J, OPT)', () => {
  it('GPT-J 6B: parallel block, interleaved rotary on rotary_dim of d_head', () => {
    const cfg = hfConfigToConfig(GPTJ_6B);
    expect(cfg).toMatchObject({ nLayers: 28, dModel: 4096, dHead: 256, dMlp: 16384, nCtx: 2048 });
    expect(cfg).toMatchObject({ rotaryDim: 64, rotaryAdjacentPairs: true, parallelAttnMlp: true });
    expect(cfg).toMatchObject({
      normalizationType: 'LN',
      actFn: 'gelu_new',
      positionalEmbeddingType: 'rotary',
    });
    expect(() => hfConfigToConfig({ ...GPTJ_6B, rotary_dim: 300 })).toThrow(/rotaryDim 300 given/);
  });

  it('OPT-125m: learned positions, ReLU, LN; opt-350m-style variants refused', () => {
    const cfg = hfConfigToConfig(OPT_125M);
    expect(cfg).toMatchObject({ dModel: 768, dHead: 64, dMlp: 3072, nCtx: 2048, actFn: 'relu', eps: 1e-5 });
    expect(cfg).toMatchObject({ positionalEmbeddingType: 'standard', normalizationType: 'LN' });
    expect(() => hfConfigToConfig({ ...OPT_125M, word_embed_proj_dim: 512 })).toThrow(
      /word_embed_proj_dim 512 ≠ hidden_size 768 is not supported/,
    );
    expect(() => hfConfigToConfig({ ...OPT_125M, do_layer_norm_before: false })).toThrow(
      /do_layer_norm_before=false is not supported/,
    );
  });
});
