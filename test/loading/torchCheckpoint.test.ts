// PyTorch .bin checkpoints (torch.save's zip format) against fixtures written by
// scripts/goldens/make_torch_bin_fixtures.py: values, views, dtypes, the gpt2-tiny weights, and
// files that must be refused (malicious pickles, the legacy format, truncated or corrupt zips).
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { loadHfFolder } from '../../src/loading/loadFolder.js';
import { openTorchCheckpoint } from '../../src/loading/torch/openTorchCheckpoint.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';
import { describeBackends } from '../helpers/backends.js';
import { FIXTURE, tempDirs } from './synthetic.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const BIN = join(FIXTURES, 'torch-bin');
const MARKER = 'lazylens-pwned-marker';

interface Expected {
  shape: number[];
  values: number[];
}
const expected = JSON.parse(readFileSync(join(BIN, 'expected.json'), 'utf8')) as Record<
  'dtypes' | 'views',
  Record<string, Expected>
>;

function readAll(path: string): Map<string, { dtype: string; shape: number[]; values: number[] }> {
  const tensors = openTorchCheckpoint(path);
  try {
    return new Map(
      [...tensors].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, values: [...t.data] }]),
    );
  } finally {
    tensors.close();
  }
}

describe('openTorchCheckpoint', () => {
  const tempDir = tempDirs();

  it('decodes float32, float16, bfloat16, int32 and int64 storages, scalars and empty tensors', () => {
    const got = readAll(join(BIN, 'dtypes.bin'));
    expect([...got.keys()]).toEqual(Object.keys(expected.dtypes));
    expect([...got].map(([k, t]) => [k, t.dtype])).toEqual([
      ['f32', 'F32'],
      ['f16', 'F16'],
      ['bf16', 'BF16'],
      ['i32', 'I32'],
      ['i64', 'I64'],
      ['scalar', 'F32'],
      ['empty', 'F32'],
    ]);
    for (const [name, want] of Object.entries(expected.dtypes)) {
      expect({ name, shape: got.get(name)!.shape, values: got.get(name)!.values }).toEqual({ name, ...want });
    }
  });

  it('rebuilds views: storage offsets, transposed and stepped strides, stride 0, shared storages', () => {
    const got = readAll(join(BIN, 'views.bin'));
    for (const [name, want] of Object.entries(expected.views)) {
      expect({ name, shape: got.get(name)!.shape, values: got.get(name)!.values }).toEqual({ name, ...want });
    }
    // The fixture really holds views (otherwise this test would not test strides).
    expect(got.get('transposed')!.values.slice(0, 4)).toEqual([0, 6, 12, 18]);
    expect(got.get('block')!.values).toEqual([8, 9, 10, 14, 15, 16]);
  });

  it('reads a tensor only when asked: a buffer of a dtype it does not decode is fine until read', () => {
    const tensors = openTorchCheckpoint(join(FIXTURES, 'gpt2-tiny-bin', 'pytorch_model.bin'));
    try {
      expect(tensors.describe('h.0.attn.bias')).toEqual({
        dtype: 'torch.BoolStorage',
        shape: [1, 1, 32, 32],
      });
      expect(() => tensors.get('h.0.attn.bias')).toThrow(
        "pytorch_model.bin: tensor 'h.0.attn.bias' has dtype torch.BoolStorage; lazylens reads F32, F16, BF16, I32, I64.",
      );
      expect(tensors.get('wte.weight')!.shape).toEqual([304, 64]);
    } finally {
      tensors.close();
    }
    expect(() => tensors.get('wte.weight')).toThrow('read after the file was closed');
  });

  for (const [file, global] of [
    ['evil_system.bin', 'posix.system'],
    ['evil_eval.bin', '__builtin__.eval'],
  ]) {
    it(`refuses ${file} (GLOBAL ${global} + REDUCE) without running anything`, async () => {
      const dir = await tempDir();
      const copy = join(dir, 'pytorch_model.bin');
      await copyFile(join(BIN, file), copy);
      expect(() => openTorchCheckpoint(copy)).toThrow(CheckpointError);
      expect(() => openTorchCheckpoint(copy)).toThrow(
        new RegExp(
          `imports '${global}', which is not allowed: .*The file may be malicious; nothing in it was run\\.`,
        ),
      );
      // The payload would create the marker in the working directory (checked by the fixture script).
      expect(existsSync(MARKER)).toBe(false);
      expect(existsSync(join(dir, MARKER))).toBe(false);
    });
  }

  it('refuses the legacy (pre-zip) torch.save format, saying what to do', () => {
    expect(() => openTorchCheckpoint(join(BIN, 'legacy.bin'))).toThrow(
      /legacy\.bin: is in the legacy torch\.save format \(before PyTorch 1\.6\).*Re-save it/,
    );
  });

  it('names a truncated file', async () => {
    const bytes = await readFile(join(BIN, 'dtypes.bin'));
    const dir = await tempDir();
    const cut = join(dir, 'cut.bin');
    await writeFile(cut, bytes.subarray(0, bytes.length - 30)); // end-of-directory record gone
    expect(() => openTorchCheckpoint(cut)).toThrow(
      `${cut}: no zip end-of-directory record; the file is truncated or not a zip archive (torch.save).`,
    );
    await writeFile(cut, bytes.subarray(0, 10));
    expect(() => openTorchCheckpoint(cut)).toThrow(`${cut}: file has 10 bytes; too short for a zip archive.`);
  });

  it('names a corrupt directory, a corrupt pickle and a storage of the wrong size', async () => {
    const bytes = await readFile(join(BIN, 'dtypes.bin'));
    const dir = await tempDir();
    const bad = join(dir, 'bad.bin');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const edited = (edit: (v: DataView, b: Buffer) => void): Buffer => {
      const copy = Buffer.from(bytes);
      edit(new DataView(copy.buffer, copy.byteOffset, copy.byteLength), copy);
      return copy;
    };
    // torch.save always writes ZIP64 end records; the directory offset is read from there.
    const zip64 = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
    expect(zip64).toBeGreaterThan(0);
    const cd = Number(view.getBigUint64(zip64 + 48, true));

    await writeFile(
      bad,
      edited((v) => v.setBigUint64(zip64 + 48, BigInt(cd + 3), true)),
    );
    expect(() => openTorchCheckpoint(bad)).toThrow(
      /bad\.bin: zip directory entry 0 of 9 is missing or corrupt/,
    );
    await writeFile(
      bad,
      edited((v) => v.setUint32(zip64, 0, true)),
    );
    expect(() => openTorchCheckpoint(bad)).toThrow(
      `bad.bin: no ZIP64 end record at byte ${zip64}; the file is corrupt.`,
    );

    // The pickle is the first record; its data starts after the local header, name and extra field.
    const pickleStart = 30 + view.getUint16(26, true) + view.getUint16(28, true);
    await writeFile(
      bad,
      edited((_, b) => (b[pickleStart + 2] = 0x69)),
    ); // GLOBAL → INST ('i')
    expect(() => openTorchCheckpoint(bad)).toThrow(
      "bad.bin (dtypes/data.pkl): pickle byte 2: opcode 0x69 'i' is not allowed",
    );

    // Shrink the recorded size of storage 'dtypes/data/0' (tensor f32, 12 floats) by 4 bytes.
    let at = cd;
    const nameOf = (p: number) => bytes.toString('latin1', p + 46, p + 46 + view.getUint16(p + 28, true));
    while (nameOf(at) !== 'dtypes/data/0') {
      at +=
        46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    }
    await writeFile(
      bad,
      edited((v) => v.setUint32(at + 24, view.getUint32(at + 24, true) - 4, true)),
    );
    expect(() => openTorchCheckpoint(bad)).toThrow(
      "bad.bin: storage '0' (of tensor 'f32') holds 44 bytes; expected 48 (12 × 4-byte FloatStorage elements).",
    );
  });
});

describe('loadHfFolder with pytorch_model.bin', () => {
  it('gives exactly the state dict of the safetensors checkpoint, single-file and sharded', async () => {
    const fromSafetensors = await loadHfFolder(FIXTURE);
    for (const folder of ['gpt2-tiny-bin', 'gpt2-tiny-bin-sharded']) {
      const fromBin = await loadHfFolder(join(FIXTURES, folder));
      expect([...fromBin.stateDict.keys()]).toEqual([...fromSafetensors.stateDict.keys()]);
      for (const [name, want] of fromSafetensors.stateDict) {
        const got = fromBin.stateDict.get(name)!;
        expect({ name, shape: got.shape }).toEqual({ name, shape: want.shape });
        // Bitwise equality (toEqual on large typed arrays is slow).
        expect(Buffer.from(got.data.buffer).equals(Buffer.from(want.data.buffer)), name).toBe(true);
      }
    }
  });

  it('prefers model.safetensors when a folder has both', async () => {
    const dir = await tempDirs()();
    await copyFile(join(FIXTURE, 'config.json'), join(dir, 'config.json'));
    await copyFile(join(FIXTURE, 'model.safetensors'), join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'pytorch_model.bin'), 'not a zip');
    const { stateDict } = await loadHfFolder(dir);
    expect(stateDict.get('embed.W_E')!.shape).toEqual([304, 64]);
  });
});

describeBackends('fromPretrained on pytorch_model.bin', () => {
  it('gives the same logits as the safetensors folder', async () => {
    const a = await HookedTransformer.fromPretrained(FIXTURE);
    const b = await HookedTransformer.fromPretrained(join(FIXTURES, 'gpt2-tiny-bin'));
    const tokens = [[303, 5, 17, 42, 99, 250]];
    const [la, lb] = [await a.forward(tokens), await b.forward(tokens)];
    expect(lb.shape).toEqual([1, 6, 304]);
    expect(await lb.data()).toEqual(await la.data());
    tf.dispose([la, lb]);
    a.dispose();
    b.dispose();
  });
});
