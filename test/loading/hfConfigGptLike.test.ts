// config.json → config for GPT-J, OPT and BLOOM (and BLOOM's ALiBi slopes), on their published configs trimmed to the fields that
// matter, and the OPT variants TL's block cannot express.
import { describe, expect, it } from 'vitest';
import { hfConfigToConfig } from '../../src/loading/hfConfig.js';
import { alibiSlopes } from '../../src/model/alibi.js';

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

const BLOOM_560M = {
  architectures: ['BloomForCausalLM'],
  apply_residual_connection_post_layernorm: false,
  hidden_size: 1024,
  layer_norm_epsilon: 1e-5,
  n_head: 16,
  n_layer: 24,
  vocab_size: 250880,
};

describe('hfConfigToConfig (GPT-J, OPT, BLOOM)', () => {
  it('BLOOM-560m: ALiBi, an embedding LayerNorm, tanh GELU', () => {
    const cfg = hfConfigToConfig(BLOOM_560M);
    expect(cfg).toMatchObject({ nLayers: 24, dModel: 1024, dHead: 64, dMlp: 4096, nCtx: 2048 });
    expect(cfg).toMatchObject({
      positionalEmbeddingType: 'alibi',
      postEmbeddingLn: true,
      actFn: 'gelu_fast',
    });
    const { hidden_size: _, ...old } = BLOOM_560M;
    expect(hfConfigToConfig({ ...old, n_embed: 512 }).dModel).toBe(512);
    expect(() => hfConfigToConfig({ ...BLOOM_560M, apply_residual_connection_post_layernorm: true })).toThrow(
      /apply_residual_connection_post_layernorm=true is not supported/,
    );
  });

  it('ALiBi slopes: 2^(-8i/n) for powers of two, interleaved from the next power otherwise', () => {
    expect(alibiSlopes(8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i));
    expect(alibiSlopes(6)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
  });

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
