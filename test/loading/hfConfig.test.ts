import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { HF_ARCHITECTURES, hfConfigToConfig, readHfConfig } from '../../src/loading/hfConfig.js';
import { gpt2ConfigJson, tempDirs } from './synthetic.js';

// The config.json of Hugging Face's `gpt2` (GPT-2 small), trimmed to the fields that matter.
const GPT2_SMALL = {
  activation_function: 'gelu_new',
  architectures: ['GPT2LMHeadModel'],
  layer_norm_epsilon: 1e-5,
  model_type: 'gpt2',
  n_ctx: 1024,
  n_embd: 768,
  n_head: 12,
  n_layer: 12,
  n_positions: 1024,
  vocab_size: 50257,
};

describe('hfConfigToConfig (GPT-2)', () => {
  it("converts GPT-2 small's config as TransformerLens does", () => {
    const cfg = hfConfigToConfig(GPT2_SMALL, { modelName: 'gpt2' });
    expect(cfg).toMatchObject({
      nLayers: 12,
      dModel: 768,
      dHead: 64,
      nHeads: 12,
      dMlp: 3072,
      nCtx: 1024,
      eps: 1e-5,
      dVocab: 50257,
      dVocabOut: 50257,
      actFn: 'gelu_new',
      normalizationType: 'LN',
      positionalEmbeddingType: 'standard',
      originalArchitecture: 'GPT2LMHeadModel',
      modelName: 'gpt2',
      defaultPrependBos: true,
      attnScale: 8,
    });
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('uses n_inner when set, n_positions over n_ctx, and GPT2Config defaults for missing fields', () => {
    const cfg = hfConfigToConfig({
      architectures: ['GPT2LMHeadModel'],
      n_inner: 100,
      n_positions: 64,
      n_ctx: 16,
    });
    expect(cfg).toMatchObject({ dMlp: 100, nCtx: 64, nLayers: 12, dModel: 768, dVocab: 50257, eps: 1e-5 });
  });

  it('falls back to model_type when architectures is absent', () => {
    expect(hfConfigToConfig({ model_type: 'gpt2', n_layer: 1 }).originalArchitecture).toBe('GPT2LMHeadModel');
  });

  it('maps gelu_pytorch_tanh to gelu_new and rejects unknown activations', () => {
    expect(hfConfigToConfig(gpt2ConfigJson({ activation_function: 'gelu_pytorch_tanh' })).actFn).toBe(
      'gelu_new',
    );
    expect(() =>
      hfConfigToConfig(gpt2ConfigJson({ activation_function: 'mish' }), { source: 'c.json' }),
    ).toThrow(/c\.json: activation_function 'mish' is not supported; expected one of gelu_new, /);
  });

  it('applies overrides last', () => {
    expect(
      hfConfigToConfig(gpt2ConfigJson(), { overrides: { tokenizerPrependsBos: true } }).tokenizerPrependsBos,
    ).toBe(true);
  });

  it.each([
    [{ n_embd: 0 }, "'n_embd' is 0; expected a positive integer"],
    [{ n_head: 2.5 }, "'n_head' is 2.5; expected a positive integer"],
    [{ vocab_size: '10' }, `'vocab_size' is "10"`],
    [{ layer_norm_epsilon: -1 }, "'layer_norm_epsilon' is -1; expected a positive number"],
    [{ n_embd: 10, n_head: 3 }, 'hidden size 10 is not divisible by the number of heads 3'],
    [{ scale_attn_by_inverse_layer_idx: true }, 'scale_attn_by_inverse_layer_idx=true is not supported'],
  ])('rejects bad field %j', (bad, message) => {
    expect(() => hfConfigToConfig(gpt2ConfigJson(bad), { source: 'x/config.json' })).toThrow(ConfigError);
    expect(() => hfConfigToConfig(gpt2ConfigJson(bad), { source: 'x/config.json' })).toThrow(message);
  });
});

describe('hfConfigToConfig (unsupported)', () => {
  it('names an unsupported architecture and lists the supported ones', () => {
    const supported = Object.keys(HF_ARCHITECTURES).join(', ');
    expect(() =>
      hfConfigToConfig({ architectures: ['BertForMaskedLM'] }, { source: 'm/config.json' }),
    ).toThrow(
      `m/config.json: architecture 'BertForMaskedLM' is not supported; expected one of ${supported}.`,
    );
    expect(() => hfConfigToConfig({ model_type: 'bert' })).toThrow(/model_type 'bert' is not supported/);
    expect(() => hfConfigToConfig({})).toThrow(/neither 'architectures' nor 'model_type'/);
  });

  it('is a ConfigError', () => {
    expect(() => hfConfigToConfig({ architectures: ['MambaForCausalLM'] })).toThrow(ConfigError);
  });
});

describe('readHfConfig', () => {
  const tempDir = tempDirs();

  it("reads a folder's config.json and names the model after the folder", async () => {
    const dir = join(await tempDir(), 'my-model');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), JSON.stringify(gpt2ConfigJson()));
    const cfg = await readHfConfig(dir);
    expect(cfg).toMatchObject({
      modelName: 'my-model',
      nLayers: 2,
      dModel: 8,
      nHeads: 2,
      dHead: 4,
      dMlp: 12,
      nCtx: 6,
    });
  });

  it('names the folder when config.json is missing', async () => {
    const dir = await tempDir();
    await expect(readHfConfig(dir)).rejects.toThrow(ConfigError);
    await expect(readHfConfig(dir)).rejects.toThrow(`Folder ${dir} has no config.json`);
  });

  it('rejects config.json that is not a JSON object', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), '{ not json');
    await expect(readHfConfig(dir)).rejects.toThrow(/config\.json is not valid JSON/);
    await writeFile(join(dir, 'config.json'), '[1]');
    await expect(readHfConfig(dir)).rejects.toThrow(/holds \[1\]; expected a JSON object/);
  });
});
