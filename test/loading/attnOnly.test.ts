// lazylens's `attn_only` extension of a GPT-2 config.json: blocks without ln_2 or MLP.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { convertGpt2 } from '../../src/loading/convertGpt2.js';
import { hfConfigToConfig } from '../../src/loading/hfConfig.js';
import { loadHfFolder } from '../../src/loading/loadFolder.js';
import type { SafetensorsTensor } from '../../src/loading/safetensors.js';
import { expectedParamShapes } from '../../src/core/stateDict.js';
import {
  expectedGpt2Shapes,
  gpt2ConfigJson,
  gpt2Tensors,
  TINY,
  tempDirs,
  writeGpt2Folder,
} from './synthetic.js';

/** The synthetic GPT-2 tensors without any ln_2 / mlp tensor. */
function attnOnlyTensors(prefix = ''): Record<string, SafetensorsTensor> {
  return Object.fromEntries(
    Object.entries(gpt2Tensors(prefix)).filter(([name]) => !/\.(ln_2|mlp)\./.test(name)),
  );
}

const attnOnlyShapes = expectedGpt2Shapes(TINY).filter(([name]) => !/\.(ln2|mlp)\./.test(name));

describe('attn_only GPT-2 configs', () => {
  it('converts to an attention-only config with no MLP size or activation', () => {
    const cfg = hfConfigToConfig(gpt2ConfigJson({ attn_only: true }));
    expect(cfg).toMatchObject({ attnOnly: true, dMlp: null, actFn: null, nLayers: 2, dModel: 8 });
    expect([...expectedParamShapes(cfg)]).toEqual(attnOnlyShapes);
  });

  it('defaults to false, and rejects a non-boolean', () => {
    expect(hfConfigToConfig(gpt2ConfigJson()).attnOnly).toBe(false);
    expect(hfConfigToConfig(gpt2ConfigJson({ attn_only: false })).dMlp).toBe(12);
    expect(() => hfConfigToConfig(gpt2ConfigJson({ attn_only: 'yes' }), { source: 'c.json' })).toThrow(
      ConfigError,
    );
    expect(() => hfConfigToConfig(gpt2ConfigJson({ attn_only: 1 }), { source: 'c.json' })).toThrow(
      `c.json: 'attn_only' is 1; expected true or false.`,
    );
  });
});

describe('convertGpt2 with attnOnly', () => {
  const cfg = {
    nLayers: 2,
    dModel: 8,
    nHeads: 2,
    dHead: 4,
    dMlp: null,
    nCtx: 6,
    dVocab: 260,
    attnOnly: true,
  };

  it('needs no ln_2 or MLP tensors and produces none', () => {
    for (const prefix of ['', 'transformer.']) {
      const sd = convertGpt2(new Map(Object.entries(attnOnlyTensors(prefix))), cfg);
      expect([...sd].map(([k, v]) => [k, v.shape])).toEqual(attnOnlyShapes);
    }
  });

  it('rejects a checkpoint that has MLP weights after all', () => {
    const withMlp = new Map(Object.entries(gpt2Tensors('transformer.')));
    expect(() => convertGpt2(withMlp, cfg, { source: 'f/model.safetensors' })).toThrow(CheckpointError);
    expect(() => convertGpt2(withMlp, cfg, { source: 'f/model.safetensors' })).toThrow(
      "f/model.safetensors: has tensor 'transformer.h.0.ln_2.weight', but the config is attention-only",
    );
  });
});

describe('loadHfFolder with attn_only', () => {
  const tempDir = tempDirs();

  it('loads a folder without MLP tensors', async () => {
    const dir = await writeGpt2Folder(await tempDir(), {
      config: gpt2ConfigJson({ attn_only: true, activation_function: undefined }),
      tensors: attnOnlyTensors('transformer.'),
    });
    const { cfg, stateDict } = await loadHfFolder(dir);
    expect(cfg).toMatchObject({ attnOnly: true, dMlp: null, modelName: expect.any(String) as string });
    expect([...stateDict].map(([k, v]) => [k, v.shape])).toEqual(attnOnlyShapes);
  });

  it('without attn_only, the same folder is missing its MLP', async () => {
    const dir = await writeGpt2Folder(await tempDir(), { tensors: attnOnlyTensors() });
    await expect(loadHfFolder(join(dir))).rejects.toThrow(
      /missing tensor 'transformer\.h\.0\.ln_2\.weight' or 'h\.0\.ln_2\.weight'/,
    );
  });
});
