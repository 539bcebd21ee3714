// config.json → config for the Llama-shaped families (Llama 3.x, Qwen2, Mistral, Gemma,
// Gemma 2, Phi-3), on their published configs trimmed to the fields that matter, and Llama 3's
// rotary frequencies band by band.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { HF_ARCHITECTURES, hfConfigToConfig } from '../../src/loading/hfConfig.js';
import { WEIGHT_TABLES } from '../../src/loading/weightTables.js';
import { rotaryFrequencies } from '../../src/model/rotary.js';

const LLAMA_32_1B = {
  architectures: ['LlamaForCausalLM'],
  hidden_size: 2048,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  num_hidden_layers: 16,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-5,
  rope_theta: 500000.0,
  rope_scaling: {
    factor: 32.0,
    high_freq_factor: 4.0,
    low_freq_factor: 1.0,
    original_max_position_embeddings: 8192,
    rope_type: 'llama3',
  },
  head_dim: 64,
  tie_word_embeddings: true,
  vocab_size: 128256,
};
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'],
  hidden_size: 896,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  num_hidden_layers: 24,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  use_sliding_window: false,
  tie_word_embeddings: true,
  vocab_size: 151936,
};
const MISTRAL_7B = {
  architectures: ['MistralForCausalLM'],
  hidden_size: 4096,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  num_hidden_layers: 32,
  intermediate_size: 14336,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  sliding_window: 4096,
  vocab_size: 32000,
};
const GEMMA_2B = {
  architectures: ['GemmaForCausalLM'],
  hidden_size: 2048,
  num_attention_heads: 8,
  num_key_value_heads: 1,
  head_dim: 256,
  num_hidden_layers: 18,
  intermediate_size: 16384,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-6,
  hidden_act: 'gelu',
  vocab_size: 256000,
};
const GEMMA2_2B = {
  architectures: ['Gemma2ForCausalLM'],
  hidden_size: 2304,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  num_hidden_layers: 26,
  intermediate_size: 9216,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-6,
  hidden_activation: 'gelu_pytorch_tanh',
  query_pre_attn_scalar: 256,
  attn_logit_softcapping: 50.0,
  final_logit_softcapping: 30.0,
  sliding_window: 4096,
  vocab_size: 256000,
};
const PHI3_MINI = {
  architectures: ['Phi3ForCausalLM'],
  hidden_size: 3072,
  num_attention_heads: 32,
  num_key_value_heads: 32,
  num_hidden_layers: 32,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  sliding_window: 2047,
  vocab_size: 32064,
};

describe('hfConfigToConfig (Llama-shaped families)', () => {
  it('has a weight table for every architecture it accepts', () => {
    expect(Object.keys(WEIGHT_TABLES).sort()).toEqual(Object.keys(HF_ARCHITECTURES).sort());
  });

  it('Llama 3.2: NTK-by-parts rotary from rope_scaling llama3', () => {
    const cfg = hfConfigToConfig(LLAMA_32_1B);
    expect(cfg).toMatchObject({ dHead: 64, nKeyValueHeads: 8, rotaryBase: 500000, nCtx: 131072 });
    expect(cfg).toMatchObject({
      useNtkByPartsRope: true,
      ntkByPartsFactor: 32,
      ntkByPartsLowFreqFactor: 1,
      ntkByPartsHighFreqFactor: 4,
      ntkOriginalCtxLen: 8192,
    });
    const scaling = { ...LLAMA_32_1B.rope_scaling } as Record<string, unknown>;
    delete scaling.low_freq_factor;
    expect(() => hfConfigToConfig({ ...LLAMA_32_1B, rope_scaling: scaling })).toThrow(
      "rope_scaling: 'low_freq_factor' is missing; expected a positive number.",
    );
    expect(() =>
      hfConfigToConfig({ ...LLAMA_32_1B, rope_scaling: { ...LLAMA_32_1B.rope_scaling, low_freq_factor: 5 } }),
    ).toThrow(/expected low < high/);
  });

  it('Qwen2.5: grouped queries, no BOS by default, the unused window ignored', () => {
    const cfg = hfConfigToConfig(QWEN25_05B);
    expect(cfg).toMatchObject({ nHeads: 14, dHead: 64, nKeyValueHeads: 2, rotaryBase: 1e6 });
    expect(cfg).toMatchObject({ defaultPrependBos: false, useLocalAttn: false, windowSize: null });
    expect(() => hfConfigToConfig({ ...QWEN25_05B, use_sliding_window: true })).toThrow(ConfigError);
  });

  it('Mistral: a sliding window on every layer', () => {
    const cfg = hfConfigToConfig(MISTRAL_7B);
    expect(cfg).toMatchObject({ useLocalAttn: true, windowSize: 4096, nKeyValueHeads: 8 });
    expect(cfg.attnTypes).toEqual(Array(32).fill('local'));
    expect(hfConfigToConfig({ ...MISTRAL_7B, sliding_window: null }).useLocalAttn).toBe(false);
  });

  it('Phi-3: windowed, and no grouped queries when every head has its own', () => {
    const cfg = hfConfigToConfig(PHI3_MINI);
    expect(cfg).toMatchObject({ nKeyValueHeads: null, windowSize: 2047, gatedMlp: true, dHead: 96 });
    expect(() => hfConfigToConfig({ ...PHI3_MINI, rope_scaling: { type: 'longrope' } })).toThrow(
      /rope_scaling .* is not supported/,
    );
  });

  it('Gemma: d_head from head_dim, tanh GELU when hidden_activation is unset', () => {
    const cfg = hfConfigToConfig(GEMMA_2B);
    expect(cfg).toMatchObject({ dHead: 256, nHeads: 8, nKeyValueHeads: 1, actFn: 'gelu_new' });
    expect(cfg).toMatchObject({ attnScale: 16, normalizationType: 'RMS', gatedMlp: true });
    expect(cfg.useNormalizationBeforeAndAfter).toBe(false);
  });

  it('Gemma 2: soft caps, query_pre_attn_scalar, post norms, even layers windowed', () => {
    const cfg = hfConfigToConfig(GEMMA2_2B);
    expect(cfg).toMatchObject({ attnScale: 16, attnScoresSoftCap: 50, outputLogitsSoftCap: 30 });
    expect(cfg).toMatchObject({ useNormalizationBeforeAndAfter: true, windowSize: 4096, actFn: 'gelu_new' });
    expect(cfg.attnTypes?.slice(0, 4)).toEqual(['local', 'global', 'local', 'global']);
    expect(hfConfigToConfig({ ...GEMMA2_2B, query_pre_attn_scalar: 144 }).attnScale).toBe(12);
    expect(hfConfigToConfig({ ...GEMMA2_2B, final_logit_softcapping: null }).outputLogitsSoftCap).toBe(-1);
    const types = Array.from({ length: 26 }, (_, i) => (i < 13 ? 'full_attention' : 'sliding_attention'));
    expect(hfConfigToConfig({ ...GEMMA2_2B, layer_types: types }).attnTypes?.[13]).toBe('local');
    expect(() => hfConfigToConfig({ ...GEMMA2_2B, layer_types: ['full_attention'] })).toThrow(
      /'layer_types' is \["full_attention"\]; expected 26 entries/,
    );
  });
});

describe('rotaryFrequencies with NTK by parts', () => {
  it('slows the low band, keeps the high band and blends between', () => {
    // d_head 8, base 10000: frequencies 1, 0.1, 0.01, 0.001 (wavelengths 6.3, 63, 628, 6283);
    // original context 64, low 1, high 4: bands above 64 slowed, below 16 kept
    const cfg = hfConfigToConfig({
      ...LLAMA_32_1B,
      hidden_size: 32,
      num_attention_heads: 4,
      num_key_value_heads: 4,
      head_dim: 8,
      rope_theta: 10000,
      rope_scaling: { ...LLAMA_32_1B.rope_scaling, factor: 8, original_max_position_embeddings: 64 },
    });
    const f = rotaryFrequencies(cfg);
    expect(f[0]).toBeCloseTo(1, 12);
    const smooth = (64 / ((2 * Math.PI) / 0.1) - 1) / (4 - 1);
    expect(f[1]).toBeCloseTo((1 - smooth) * (0.1 / 8) + smooth * 0.1, 12);
    expect(f[2]).toBeCloseTo(0.01 / 8, 12);
    expect(f[3]).toBeCloseTo(0.001 / 8, 12);
  });
});
