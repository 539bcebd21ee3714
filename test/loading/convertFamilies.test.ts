// GPT-Neo, GPT-NeoX and Llama: config.json conversion and weight layouts, element by element on
// traceable ramp tensors (value = seed + flat index / 1000), and the converters' error messages.
import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { convertGptNeo } from '../../src/loading/convertGptNeo.js';
import { convertGptNeoX } from '../../src/loading/convertGptNeoX.js';
import { convertLlama } from '../../src/loading/convertLlama.js';
import { HF_ARCHITECTURES, hfConfigToConfig } from '../../src/loading/hfConfig.js';
import type { SafetensorsTensor } from '../../src/loading/safetensors.js';
import { ramp } from './synthetic.js';

// config.json of EleutherAI/pythia-70m, TinyLlama-1.1B and gpt-neo-125M, trimmed to the fields that matter
const PYTHIA_70M = {
  architectures: ['GPTNeoXForCausalLM'],
  hidden_act: 'gelu',
  hidden_size: 512,
  intermediate_size: 2048,
  layer_norm_eps: 1e-5,
  max_position_embeddings: 2048,
  model_type: 'gpt_neox',
  num_attention_heads: 8,
  num_hidden_layers: 6,
  rotary_emb_base: 10000,
  rotary_pct: 0.25,
  tie_word_embeddings: false,
  use_parallel_residual: true,
  vocab_size: 50304,
};
const TINY_LLAMA = {
  architectures: ['LlamaForCausalLM'],
  hidden_act: 'silu',
  hidden_size: 2048,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  vocab_size: 32000,
};
const NEO_125M = {
  architectures: ['GPTNeoForCausalLM'],
  activation_function: 'gelu_new',
  attention_types: [[['global', 'local'], 6]],
  hidden_size: 768,
  max_position_embeddings: 2048,
  model_type: 'gpt_neo',
  num_heads: 12,
  num_layers: 12,
  vocab_size: 50257,
  window_size: 256,
};

describe('hfConfigToConfig (GPT-Neo, GPT-NeoX, Llama)', () => {
  it('lists every supported architecture', () => {
    expect(Object.keys(HF_ARCHITECTURES)).toEqual([
      'GPT2LMHeadModel',
      'GPTNeoForCausalLM',
      'GPTNeoXForCausalLM',
      'LlamaForCausalLM',
      'Qwen2ForCausalLM',
      'MistralForCausalLM',
      'Phi3ForCausalLM',
      'GemmaForCausalLM',
      'Gemma2ForCausalLM',
      'GPTJForCausalLM',
      'BloomForCausalLM',
      'OPTForCausalLM',
    ]);
  });

  it('converts GPT-Neo 125M: alternating local attention, no attention scaling', () => {
    const cfg = hfConfigToConfig(NEO_125M);
    expect(cfg).toMatchObject({
      nLayers: 12,
      dModel: 768,
      dHead: 64,
      dMlp: 3072,
      nCtx: 2048,
      windowSize: 256,
    });
    expect(cfg).toMatchObject({
      useAttnScale: false,
      useLocalAttn: true,
      normalizationType: 'LN',
      actFn: 'gelu_new',
    });
    expect(cfg.attnTypes).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 ? 'local' : 'global')));
    expect(() => hfConfigToConfig({ ...NEO_125M, attention_layers: ['global'] })).toThrow(
      /attention layers \["global"\]; expected 12 entries/,
    );
  });

  it('converts Pythia-70m: partial rotary, parallel attention and MLP, no BOS by default', () => {
    const cfg = hfConfigToConfig(PYTHIA_70M);
    expect(cfg).toMatchObject({ nLayers: 6, dModel: 512, nHeads: 8, dHead: 64, dMlp: 2048, dVocab: 50304 });
    expect(cfg).toMatchObject({
      positionalEmbeddingType: 'rotary',
      rotaryDim: 16,
      rotaryAdjacentPairs: false,
    });
    expect(cfg).toMatchObject({
      parallelAttnMlp: true,
      defaultPrependBos: false,
      actFn: 'gelu',
      normalizationType: 'LN',
    });
    expect(
      hfConfigToConfig({ ...PYTHIA_70M, rotary_pct: undefined, partial_rotary_factor: 0.5 }).rotaryDim,
    ).toBe(32);
    expect(() => hfConfigToConfig({ ...PYTHIA_70M, rotary_pct: 0.3 })).toThrow(/gives 19 rotary dims/);
  });

  it('converts TinyLlama: RMS, gated SiLU MLP, full rotary, grouped-query attention', () => {
    const cfg = hfConfigToConfig(TINY_LLAMA);
    expect(cfg).toMatchObject({
      nLayers: 22,
      dModel: 2048,
      nHeads: 32,
      dHead: 64,
      nKeyValueHeads: 4,
      dMlp: 5632,
    });
    expect(cfg).toMatchObject({
      normalizationType: 'RMS',
      finalRms: true,
      gatedMlp: true,
      actFn: 'silu',
      eps: 1e-5,
    });
    expect(cfg).toMatchObject({
      rotaryDim: 64,
      rotaryAdjacentPairs: false,
      rotaryBase: 10000,
      defaultPrependBos: true,
    });
    // as TL: no grouping, no grouped-query attention
    expect(hfConfigToConfig({ ...TINY_LLAMA, num_key_value_heads: 32 }).nKeyValueHeads).toBeNull();
    expect(() => hfConfigToConfig({ ...TINY_LLAMA, num_key_value_heads: 5 })).toThrow(ConfigError);
    expect(() => hfConfigToConfig({ ...TINY_LLAMA, rope_scaling: { rope_type: 'yarn', factor: 8 } })).toThrow(
      /rope_scaling .* is not supported; expected none or rope_type 'llama3'/,
    );
    expect(() => hfConfigToConfig({ ...TINY_LLAMA, mlp_bias: true })).toThrow(
      /mlp_bias=true is not supported/,
    );
  });
});

// A small config for the weight converters: d 8, 2 heads of 4, 1 layer, d_mlp 12, vocab 10.
const D = 8;
const H = 2;
const DH = 4;
const M = 12;
const V = 10;

function neoxTensors(): Map<string, SafetensorsTensor> {
  const p = 'gpt_neox.layers.0.';
  return new Map(
    Object.entries({
      'gpt_neox.embed_in.weight': ramp([V, D], 1),
      [`${p}input_layernorm.weight`]: ramp([D], 2),
      [`${p}input_layernorm.bias`]: ramp([D], 3),
      [`${p}attention.query_key_value.weight`]: ramp([3 * D, D], 4),
      [`${p}attention.query_key_value.bias`]: ramp([3 * D], 5),
      [`${p}attention.dense.weight`]: ramp([D, D], 6),
      [`${p}attention.dense.bias`]: ramp([D], 7),
      [`${p}post_attention_layernorm.weight`]: ramp([D], 8),
      [`${p}post_attention_layernorm.bias`]: ramp([D], 9),
      [`${p}mlp.dense_h_to_4h.weight`]: ramp([M, D], 10),
      [`${p}mlp.dense_h_to_4h.bias`]: ramp([M], 11),
      [`${p}mlp.dense_4h_to_h.weight`]: ramp([D, M], 12),
      [`${p}mlp.dense_4h_to_h.bias`]: ramp([D], 13),
      'gpt_neox.final_layer_norm.weight': ramp([D], 14),
      'gpt_neox.final_layer_norm.bias': ramp([D], 15),
      'embed_out.weight': ramp([V, D], 16),
      // buffers of old checkpoints are ignored
      [`${p}attention.rotary_emb.inv_freq`]: ramp([2], 0),
      [`${p}attention.bias`]: ramp([1, 1, 4, 4], 0),
    }),
  );
}

const smallCfg = (json: Record<string, unknown>) => hfConfigToConfig(json);
const NEOX_CFG = smallCfg({
  architectures: ['GPTNeoXForCausalLM'],
  hidden_size: D,
  num_attention_heads: H,
  num_hidden_layers: 1,
  intermediate_size: M,
  vocab_size: V,
  max_position_embeddings: 16,
  rotary_pct: 0.5,
});

describe('convertGptNeoX', () => {
  it('splits the fused query_key_value per head: row (head, which, e) → W_{Q,K,V}[head, :, e]', () => {
    const sd = convertGptNeoX(neoxTensors(), NEOX_CFG);
    const qkv = ramp([3 * D, D], 4).data;
    const bias = ramp([3 * D], 5).data;
    ['Q', 'K', 'V'].forEach((name, which) => {
      const W = sd.get(`blocks.0.attn.W_${name}`)!;
      const b = sd.get(`blocks.0.attn.b_${name}`)!;
      expect(W.shape).toEqual([H, D, DH]);
      for (let head = 0; head < H; head++) {
        for (let e = 0; e < DH; e++) {
          const row = head * 3 * DH + which * DH + e;
          expect(b.data[head * DH + e]).toBe(bias[row]);
          for (let i = 0; i < D; i++) expect(W.data[(head * D + i) * DH + e]).toBe(qkv[row * D + i]);
        }
      }
    });
    // the dense output projection [d, h·dh] becomes W_O [h, dh, d]
    const wO = sd.get('blocks.0.attn.W_O')!;
    const dense = ramp([D, D], 6).data;
    expect(wO.shape).toEqual([H, DH, D]);
    expect(wO.data[(1 * DH + 2) * D + 5]).toBe(dense[5 * D + (1 * DH + 2)]);
    // MLP weights are transposed to [in, out]; the untied head gives W_U
    expect(sd.get('blocks.0.mlp.W_in')!.data[3 * M + 7]).toBe(ramp([M, D], 10).data[7 * D + 3]);
    expect(sd.get('unembed.W_U')!.data[2 * V + 9]).toBe(ramp([V, D], 16).data[9 * D + 2]);
    expect(sd.has('pos_embed.W_pos')).toBe(false);
  });

  it('names a missing or misshapen tensor, and extra layers', () => {
    const t = neoxTensors();
    t.delete('gpt_neox.layers.0.attention.dense.bias');
    expect(() => convertGptNeoX(t, NEOX_CFG, { source: 'm.safetensors' })).toThrow(
      /m\.safetensors: missing tensor 'gpt_neox\.layers\.0\.attention\.dense\.bias' or 'layers\.0\.attention\.dense\.bias', needed for blocks\.0\.attn\.b_O/,
    );
    const bad = neoxTensors();
    bad.set('gpt_neox.layers.0.attention.query_key_value.weight', ramp([2 * D, D], 4));
    expect(() => convertGptNeoX(bad, NEOX_CFG)).toThrow(/has shape \[16, 8\]; expected \[24, 8\]/);
    const extra = neoxTensors();
    extra.set('gpt_neox.layers.1.input_layernorm.weight', ramp([D], 2));
    expect(() => convertGptNeoX(extra, NEOX_CFG)).toThrow(CheckpointError);
  });
});

describe('convertGptNeo', () => {
  it('maps separate q/k/v projections per head, with zero q/k/v biases and a tied head', () => {
    const cfg = smallCfg({
      architectures: ['GPTNeoForCausalLM'],
      hidden_size: D,
      num_heads: H,
      num_layers: 1,
      attention_layers: ['local'],
      vocab_size: V,
      max_position_embeddings: 6,
      intermediate_size: M,
    });
    const p = 'transformer.h.0.';
    const t = new Map<string, SafetensorsTensor>(
      Object.entries({
        'transformer.wte.weight': ramp([V, D], 1),
        'transformer.wpe.weight': ramp([6, D], 2),
        [`${p}ln_1.weight`]: ramp([D], 3),
        [`${p}ln_1.bias`]: ramp([D], 4),
        [`${p}attn.attention.q_proj.weight`]: ramp([D, D], 5),
        [`${p}attn.attention.k_proj.weight`]: ramp([D, D], 6),
        [`${p}attn.attention.v_proj.weight`]: ramp([D, D], 7),
        [`${p}attn.attention.out_proj.weight`]: ramp([D, D], 8),
        [`${p}attn.attention.out_proj.bias`]: ramp([D], 9),
        [`${p}ln_2.weight`]: ramp([D], 10),
        [`${p}ln_2.bias`]: ramp([D], 11),
        [`${p}mlp.c_fc.weight`]: ramp([M, D], 12),
        [`${p}mlp.c_fc.bias`]: ramp([M], 13),
        [`${p}mlp.c_proj.weight`]: ramp([D, M], 14),
        [`${p}mlp.c_proj.bias`]: ramp([D], 15),
        'transformer.ln_f.weight': ramp([D], 16),
        'transformer.ln_f.bias': ramp([D], 17),
      }),
    );
    const sd = convertGptNeo(t, cfg);
    const k = ramp([D, D], 6).data;
    // W_K[head, i, e] = k_proj.weight[head·dh + e, i]
    expect(sd.get('blocks.0.attn.W_K')!.data[(1 * D + 3) * DH + 2]).toBe(k[(1 * DH + 2) * D + 3]);
    expect(Array.from(sd.get('blocks.0.attn.b_Q')!.data)).toEqual(new Array(H * DH).fill(0));
    expect(sd.get('unembed.W_U')!.data[5 * V + 4]).toBe(ramp([V, D], 1).data[4 * D + 5]);
  });
});

describe('convertLlama', () => {
  it('keeps grouped keys/values as _W_K/_W_V [g, d, dh] and maps gate/up/down', () => {
    const cfg = smallCfg({
      architectures: ['LlamaForCausalLM'],
      hidden_size: D,
      num_attention_heads: H,
      num_key_value_heads: 1,
      num_hidden_layers: 1,
      intermediate_size: M,
      vocab_size: V,
      tie_word_embeddings: true,
    });
    const p = 'model.layers.0.';
    const t = new Map<string, SafetensorsTensor>(
      Object.entries({
        'model.embed_tokens.weight': ramp([V, D], 1),
        [`${p}input_layernorm.weight`]: ramp([D], 2),
        [`${p}self_attn.q_proj.weight`]: ramp([H * DH, D], 3),
        [`${p}self_attn.k_proj.weight`]: ramp([DH, D], 4),
        [`${p}self_attn.v_proj.weight`]: ramp([DH, D], 5),
        [`${p}self_attn.o_proj.weight`]: ramp([D, H * DH], 6),
        [`${p}post_attention_layernorm.weight`]: ramp([D], 7),
        [`${p}mlp.gate_proj.weight`]: ramp([M, D], 8),
        [`${p}mlp.up_proj.weight`]: ramp([M, D], 9),
        [`${p}mlp.down_proj.weight`]: ramp([D, M], 10),
        'model.norm.weight': ramp([D], 11),
      }),
    );
    const sd = convertLlama(t, cfg);
    expect(cfg.nKeyValueHeads).toBe(1);
    expect(sd.get('blocks.0.attn._W_K')!.shape).toEqual([1, D, DH]);
    expect(sd.get('blocks.0.attn._b_V')!.shape).toEqual([1, DH]);
    expect(sd.has('blocks.0.attn.W_K')).toBe(false);
    expect(sd.has('blocks.0.ln1.b')).toBe(false);
    expect(sd.get('blocks.0.mlp.W_gate')!.data[2 * M + 5]).toBe(ramp([M, D], 8).data[5 * D + 2]);
    expect(sd.get('blocks.0.mlp.W_in')!.data[2 * M + 5]).toBe(ramp([M, D], 9).data[5 * D + 2]);
    expect(sd.get('blocks.0.mlp.W_out')!.data[5 * D + 2]).toBe(ramp([D, M], 10).data[2 * M + 5]);
    // no lm_head: tied to the embedding
    expect(sd.get('unembed.W_U')!.data[3 * V + 7]).toBe(ramp([V, D], 1).data[7 * D + 3]);
    t.delete(`${p}mlp.up_proj.weight`);
    expect(() => convertLlama(t, cfg)).toThrow(
      /missing tensor 'model\.layers\.0\.mlp\.up_proj\.weight'.*blocks\.0\.mlp\.W_in/,
    );
  });
});
