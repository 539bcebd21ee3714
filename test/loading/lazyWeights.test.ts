// Loading reads one tensor at a time: half-precision checkpoints widen to float32 per tensor,
// NaN/Inf weights fail the load (unless allowed), and unknown options are refused.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, InvalidArgumentError } from '../../src/errors.js';
import { loadHfFolder, type LoadFolderOptions } from '../../src/loading/loadFolder.js';
import {
  openSafetensorsFile,
  readSafetensors,
  writeSafetensors,
  type SafetensorsDtype,
  type SafetensorsTensor,
} from '../../src/loading/safetensors.js';
import { gpt2Tensors, tempDirs, writeGpt2Folder } from './synthetic.js';

/** The synthetic GPT-2 tensors with every float tensor stored as `dtype`. */
function storedAs(dtype: SafetensorsDtype): Record<string, SafetensorsTensor> {
  return Object.fromEntries(Object.entries(gpt2Tensors()).map(([k, t]) => [k, { ...t, dtype }]));
}

describe('openSafetensorsFile', () => {
  const tempDir = tempDirs();

  it('reads the header only, then each tensor on request, as readSafetensors decodes it', async () => {
    const path = join(await tempDir(), 'w.safetensors');
    const bytes = writeSafetensors({
      a: { dtype: 'BF16', shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 1e-3]) },
      b: { dtype: 'F16', shape: [3], data: Float32Array.from([0.1, 65504, -6e-8]) },
      c: { dtype: 'F32', shape: [], data: Float32Array.from([7]) },
      d: { dtype: 'I64', shape: [2], data: Int32Array.from([-5, 9]) },
    });
    await writeFile(path, bytes);
    const eager = readSafetensors(bytes).tensors;
    const { tensors } = openSafetensorsFile(path);
    try {
      expect([...tensors.keys()]).toEqual(['a', 'b', 'c', 'd']);
      expect(tensors.elementCount()).toBe(4 + 3 + 1 + 2);
      for (const [name, want] of eager) expect(tensors.get(name)).toEqual(want);
      // A fresh array per read: a converter may modify what it gets.
      expect(tensors.get('a')!.data).not.toBe(tensors.get('a')!.data);
    } finally {
      tensors.close();
    }
  });

  it('names a tensor whose bytes the file no longer has (truncated after the header was written)', async () => {
    const path = join(await tempDir(), 'cut.safetensors');
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    await writeFile(path, bytes.subarray(0, bytes.length - 4));
    expect(() => openSafetensorsFile(path)).toThrow(
      `${path}: tensor 'a': data_offsets [0, 16] end past the data section, which has 12 bytes.`,
    );
  });
});

describe('loadHfFolder: half precision', () => {
  const tempDir = tempDirs();

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`widens ${dtype} weights to float32 exactly as the stored values`, async () => {
      const dir = await writeGpt2Folder(await tempDir(), { tensors: storedAs(dtype), tokenizer: false });
      const { stateDict } = await loadHfFolder(dir);
      // What the file holds, decoded by the eager reader: the load must give those values bit for bit.
      const stored = readSafetensors(await readFile(join(dir, 'model.safetensors'))).tensors;
      expect(stored.get('wte.weight')!.dtype).toBe(dtype);
      expect(stateDict.get('embed.W_E')!.data).toEqual(stored.get('wte.weight')!.data);
      expect(stateDict.get('blocks.1.mlp.W_in')!.data).toEqual(stored.get('h.1.mlp.c_fc.weight')!.data);
      // And they are the float32 originals rounded, not the originals.
      const original = gpt2Tensors()['wte.weight'].data;
      expect(stateDict.get('embed.W_E')!.data).not.toEqual(original);
    });
  }
});

describe('loadHfFolder: non-finite weights', () => {
  const tempDir = tempDirs();

  async function folderWith(values: number[], at: string, dtype: SafetensorsDtype = 'F32'): Promise<string> {
    const tensors = gpt2Tensors();
    const t = tensors[at];
    const data = Float32Array.from(t.data);
    values.forEach((v, i) => (data[3 + 5 * i] = v));
    tensors[at] = { dtype, shape: t.shape, data };
    return writeGpt2Folder(await tempDir(), { tensors, tokenizer: false });
  }

  it('fails naming the file, the tensor, the count and the first bad value', async () => {
    const dir = await folderWith([NaN, Infinity], 'h.1.mlp.c_fc.weight');
    await expect(loadHfFolder(dir)).rejects.toThrow(CheckpointError);
    await expect(loadHfFolder(dir)).rejects.toThrow(
      `${join(dir, 'model.safetensors')}: tensor 'h.1.mlp.c_fc.weight' has 2 non-finite values of 96 ` +
        '(first: NaN at flat index 3); expected finite weights. Pass allowNonFinite: true to load it anyway.',
    );
  });

  it('catches -Inf in a bfloat16 bias too', async () => {
    const dir = await folderWith([-Infinity], 'h.0.attn.c_proj.bias', 'BF16');
    await expect(loadHfFolder(dir)).rejects.toThrow(
      "tensor 'h.0.attn.c_proj.bias' has 1 non-finite value of 8 (first: -Infinity at flat index 3)",
    );
  });

  it('loads them with allowNonFinite: true', async () => {
    const dir = await folderWith([NaN], 'wte.weight');
    const { stateDict } = await loadHfFolder(dir, { allowNonFinite: true });
    expect(Number.isNaN(stateDict.get('embed.W_E')!.data[3])).toBe(true);
  });

  it('refuses unknown options', async () => {
    const dir = await writeGpt2Folder(await tempDir(), { tokenizer: false });
    const options = { allowNaN: true } as unknown as LoadFolderOptions;
    await expect(loadHfFolder(dir, options)).rejects.toThrow(InvalidArgumentError);
    await expect(loadHfFolder(dir, options)).rejects.toThrow(
      "loadHfFolder: unknown option 'allowNaN'; expected allowNonFinite, backend, modelName.",
    );
    await rm(dir, { recursive: true });
  });
});
