// A model too large for the backend is refused before any weight is read, with the numbers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, ModelTooLargeError } from '../../src/errors.js';
import {
  checkModelFits,
  parameterCount,
  projectionCopyCount,
  WASM_HEAP_BYTES,
} from '../../src/loading/checkModelFits.js';
import { hfConfigToConfig } from '../../src/loading/hfConfig.js';
import { loadHfFolder } from '../../src/loading/loadFolder.js';
import { gpt2ConfigJson, tempDirs } from './synthetic.js';

// GPT-2 XL's shape (1.6B parameters): too large for wasm's 4 GiB memory.
const XL = {
  n_layer: 48,
  n_embd: 1600,
  n_head: 25,
  n_inner: null,
  n_positions: 1024,
  n_ctx: 1024,
  vocab_size: 50257,
};
const xlConfig = () => hfConfigToConfig(gpt2ConfigJson(XL), { source: 'config.json', modelName: 'gpt2-xl' });

describe('checkModelFits', () => {
  it('counts parameters as TransformerLens weights (GPT-2: 12d² + 13d per block, embeddings, unembed)', () => {
    const [d, v, n, layers] = [1600, 50257, 1024, 48];
    const perBlock = 12 * d * d + 13 * d;
    expect(parameterCount(xlConfig())).toBe(layers * perBlock + 2 * v * d + n * d + 2 * d + v);
  });

  it('refuses on wasm with the parameter count, both sizes, and a backend that can hold it', () => {
    const params = parameterCount(xlConfig()); // 1,638,072,657
    const copy = projectionCopyCount(xlConfig()); // 48 layers · 3 · 1600²
    expect(copy).toBe(48 * 3 * 1600 * 1600);
    expect(() => checkModelFits(xlConfig(), 'wasm', { hostMemoryBytes: 64 * 2 ** 30 })).toThrow(
      ModelTooLargeError,
    );
    expect(() => checkModelFits(xlConfig(), 'wasm', { hostMemoryBytes: 64 * 2 ** 30 })).toThrow(
      `Model 'gpt2-xl' has ${params.toLocaleString('en-US')} parameters: ${((params * 4) / 2 ** 30).toFixed(2)} GiB ` +
        'as float32 (parameters × 4 bytes), and a second copy of its query, key and value weights laid out for ' +
        `the forward (${((copy * 4) / 2 ** 30).toFixed(2)} GiB; ${(((params + copy) * 4) / 2 ** 30).toFixed(2)} GiB ` +
        "in all). The 'wasm' backend keeps weights in its one WebAssembly memory, " +
        'at most 4.00 GiB, and weights may take at most 85% of that (3.40 GiB, about 912,666,624 parameters) to ' +
        "leave room for activations. Load it with backend: 'cpu' (weights in host memory: 64.00 GiB here), or " +
        "'webgpu' / 'tensorflow' when installed.",
    );
    try {
      checkModelFits(xlConfig(), 'wasm', { hostMemoryBytes: 64 * 2 ** 30 });
    } catch (e) {
      expect(e).toMatchObject({
        parameterCount: params,
        backend: 'wasm',
        limitBytes: Math.floor(WASM_HEAP_BYTES * 0.85),
      });
    }
  });

  it('on a host too small for the cpu backend, points to a GPU backend', () => {
    expect(() => checkModelFits(xlConfig(), 'cpu', { hostMemoryBytes: 4 * 2 ** 30 })).toThrow(
      /keeps weights in host memory, 4\.00 GiB on this machine.*Use a GPU backend \('webgpu', or 'tensorflow' with tfjs-node-gpu\)/,
    );
  });

  it('passes models that fit, and backends whose memory it cannot know', () => {
    const small = hfConfigToConfig(gpt2ConfigJson(), { source: 'config.json', modelName: 'tiny' });
    expect(() => checkModelFits(small, 'wasm')).not.toThrow();
    expect(() => checkModelFits(xlConfig(), 'cpu', { hostMemoryBytes: 64 * 2 ** 30 })).not.toThrow();
    expect(() => checkModelFits(xlConfig(), 'webgpu')).not.toThrow();
  });
});

describe('loadHfFolder refuses a model too large for the backend before reading weights', () => {
  const tempDir = tempDirs();

  it('fails on the config alone (the folder has no weights at all)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), JSON.stringify(gpt2ConfigJson(XL)));
    await expect(loadHfFolder(dir, { backend: 'wasm' })).rejects.toThrow(ModelTooLargeError);
    await expect(loadHfFolder(dir, { backend: 'wasm' })).rejects.toThrow(/parameters: 6\.10 GiB as float32/);
    // A backend without a known limit goes on to look for the weights.
    await expect(loadHfFolder(dir, { backend: 'webgpu' })).rejects.toThrow(CheckpointError);
  });
});
