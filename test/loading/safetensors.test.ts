import * as tf from '@tensorflow/tfjs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { loadSafetensorsFile, readSafetensors, writeSafetensors } from '../../src/loading/safetensors.js';
import { toTensor } from '../../src/loading/toTensor.js';
import { describeBackends } from '../helpers/backends.js';
import { tempDirs } from './synthetic.js';

const enc = new TextEncoder();

/** Hand-built safetensors bytes: a header object and a raw data section. */
function rawFile(header: unknown, data: Uint8Array | number = 0, headerText?: string): Uint8Array {
  const json = enc.encode(headerText ?? JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function u16(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(2 * i, v, true));
  return out;
}

function expectCheckpointError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CheckpointError);
  for (const part of parts) expect((error as Error).message).toMatch(part);
}

describe('writeSafetensors / readSafetensors', () => {
  it('round-trips F32, I32 and I64 tensors, scalars, empty tensors and metadata', () => {
    const bytes = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -1e30]) },
        s: { dtype: 'F32', shape: [], data: Float32Array.from([7]) },
        e: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
        i: { dtype: 'I32', shape: [3], data: Int32Array.from([-5, 0, 2147483647]) },
        l: { dtype: 'I64', shape: [2], data: Int32Array.from([-2147483648, 42]) },
      },
      { format: 'pt', note: 'hi' },
    );
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'hi' });
    expect([...tensors.keys()]).toEqual(['a', 's', 'e', 'i', 'l']);
    expect(tensors.get('a')).toEqual({
      dtype: 'F32',
      shape: [2, 3],
      data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -1e30]),
    });
    expect(tensors.get('s')!.shape).toEqual([]);
    expect(tensors.get('e')!.data).toHaveLength(0);
    expect(tensors.get('i')!.data).toEqual(Int32Array.from([-5, 0, 2147483647]));
    expect(tensors.get('l')).toEqual({ dtype: 'I64', shape: [2], data: Int32Array.from([-2147483648, 42]) });
  });

  it('pads the header to 8 bytes so the data section is aligned', () => {
    const bytes = writeSafetensors({ x: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
  });

  it('returns copies, not views of the input bytes', () => {
    const bytes = writeSafetensors({ x: { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) } });
    const x = readSafetensors(bytes).tensors.get('x')!;
    bytes.fill(0);
    expect(x.data).toEqual(Float32Array.from([1, 2]));
    expect(x.data.buffer.byteLength).toBe(8);
  });

  it('reads a Node Buffer at an unaligned offset (Buffer.slice aliases; the reader must copy)', () => {
    const bytes = writeSafetensors({
      a: { dtype: 'I32', shape: [1], data: Int32Array.from([9]) },
      x: { dtype: 'F32', shape: [3], data: Float32Array.from([1, 2, 3]) },
    });
    const buffer = Buffer.concat([Buffer.alloc(3), Buffer.from(bytes)]).subarray(3);
    const { tensors } = readSafetensors(buffer);
    expect(tensors.get('x')!.data).toEqual(Float32Array.from([1, 2, 3]));
    expect(tensors.get('x')!.data.buffer.byteLength).toBe(12);
    expect(tensors.get('a')!.data).toEqual(Int32Array.from([9]));
  });

  it('decodes F16 bit patterns exactly (normal, subnormal, ±0, ±inf, NaN)', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const file = rawFile(
      { h: { dtype: 'F16', shape: [bits.length], data_offsets: [0, 2 * bits.length] } },
      u16(bits),
    );
    const data = readSafetensors(file).tensors.get('h')!.data;
    expect(data).toBeInstanceOf(Float32Array);
    expect([...data.slice(0, 8)]).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, -0, Infinity, -Infinity]);
    expect(data[8]).toBeNaN();
    expect(data[9]).toBeCloseTo(0.333251953125, 12);
  });

  it('decodes BF16 as the top half of a float32', () => {
    const bits = [0x3f80, 0xc040, 0x7f80, 0x3eaa];
    const file = rawFile({ b: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] } }, u16(bits));
    const t = readSafetensors(file).tensors.get('b')!;
    expect(t.shape).toEqual([2, 2]);
    expect([...t.data]).toEqual([1, -3, Infinity, 0.33203125]);
  });

  it('writes F16 and BF16 with round-to-nearest-even and reads them back', () => {
    const values = Float32Array.from([1, -2.5, 65504, 1e-7, 0.1, 1e6, -0]);
    const back = readSafetensors(
      writeSafetensors({
        h: { dtype: 'F16', shape: [7], data: values },
        b: { dtype: 'BF16', shape: [7], data: values },
      }),
    ).tensors;
    const h = back.get('h')!.data;
    expect([...h.slice(0, 3)]).toEqual([1, -2.5, 65504]);
    expect(h[3]).toBeCloseTo(1.1920928955078125e-7, 14); // nearest subnormal (2 * 2^-24)
    expect(h[4]).toBe(0.0999755859375);
    expect(h[5]).toBe(Infinity); // overflow
    expect(Object.is(h[6], -0)).toBe(true);
    const b = back.get('b')!.data;
    expect(b[0]).toBe(1);
    expect(b[4]).toBe(0.10009765625);
    expect(b[5]).toBe(999424);
  });

  it('rejects I64 values that do not fit in int32', () => {
    const data = new Uint8Array(16);
    const view = new DataView(data.buffer);
    view.setBigInt64(0, 1n, true);
    view.setBigInt64(8, 2n ** 40n, true);
    expectCheckpointError(
      () => readSafetensors(rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data)),
      "tensor 'ids'",
      String(2n ** 40n),
      'index 1',
      'int32',
    );
  });

  it('rejects a writer input whose data does not fit its shape or dtype', () => {
    expect(() => writeSafetensors({ x: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(
      /'x'.*2 values; expected 3/,
    );
    expect(() => writeSafetensors({ x: { dtype: 'I32', shape: [1], data: new Float32Array(1) } })).toThrow(
      /Int32Array/,
    );
  });
});

describe('readSafetensors on bad input', () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const read = (bytes: Uint8Array) => () => readSafetensors(bytes, { source: 'bad.safetensors' });

  it('rejects a file shorter than 8 bytes', () => {
    expectCheckpointError(read(new Uint8Array(5)), 'bad.safetensors', '5 bytes', 'at least 8');
  });

  it('rejects a header length larger than the file', () => {
    const bytes = rawFile(ok, 8);
    new DataView(bytes.buffer).setBigUint64(0, 10_000n, true);
    expectCheckpointError(read(bytes), 'bad.safetensors', 'header length is 10000', 'truncated');
  });

  it('rejects a header that is not JSON, not UTF-8 or not an object', () => {
    expectCheckpointError(read(rawFile(null, 0, '{"t": {')), 'bad.safetensors', 'not valid UTF-8 JSON');
    const badUtf8 = rawFile(null, 0, '{}');
    badUtf8[8] = 0xff;
    expectCheckpointError(read(badUtf8), 'not valid UTF-8 JSON');
    expectCheckpointError(read(rawFile([1, 2])), 'header is [1,2]', 'expected a JSON object');
  });

  it('rejects a header entry that is not an object, and bad metadata', () => {
    expectCheckpointError(read(rawFile({ t: 3 })), "tensor 't'", 'header entry is 3');
    expectCheckpointError(read(rawFile({ __metadata__: { a: 1 } })), "__metadata__['a'] is 1");
  });

  it('rejects unknown dtypes, naming the supported ones', () => {
    expectCheckpointError(
      read(rawFile({ t: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8)),
      "tensor 't'",
      '"F64" is not supported',
      'F32, F16, BF16, I32, I64',
    );
  });

  it('rejects negative or non-integer shape entries', () => {
    for (const shape of [[-1, 2], [1.5], 'x']) {
      expectCheckpointError(
        read(rawFile({ t: { dtype: 'F32', shape, data_offsets: [0, 8] } }, 8)),
        "tensor 't'",
        'shape',
        'non-negative integers',
      );
    }
  });

  it('rejects malformed data_offsets and begin > end', () => {
    expectCheckpointError(
      read(rawFile({ t: { dtype: 'F32', shape: [2], data_offsets: [0] } }, 8)),
      'data_offsets [0] is invalid',
    );
    expectCheckpointError(
      read(rawFile({ t: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8)),
      'begin > end',
    );
  });

  it('rejects offsets past the data section (a truncated file)', () => {
    const full = writeSafetensors({
      a: { dtype: 'F32', shape: [4], data: new Float32Array(4) },
      b: { dtype: 'F32', shape: [4], data: new Float32Array(4) },
    });
    expectCheckpointError(
      read(full.subarray(0, full.length - 3)),
      'bad.safetensors',
      "tensor 'b'",
      'data_offsets [16, 32]',
      '29 bytes',
      'truncated',
    );
  });

  it('rejects overlapping tensors', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    expectCheckpointError(read(rawFile(header, 12)), "'a' [0, 8)", "'b' [4, 12)", 'overlap');
  });

  it('rejects a byte size that does not match the shape', () => {
    expectCheckpointError(
      read(rawFile({ t: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } }, 8)),
      "tensor 't'",
      'holds 8 bytes; expected 12',
      'shape [2, 3]',
    );
  });
});

describe('loadSafetensorsFile', () => {
  const tempDir = tempDirs();

  it('reads a file and names its path in errors', async () => {
    const dir = await tempDir();
    const path = join(dir, 'w.safetensors');
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [2], data: Float32Array.from([3, 4]) } });
    await writeFile(path, bytes);
    expect((await loadSafetensorsFile(path)).tensors.get('w')!.data).toEqual(Float32Array.from([3, 4]));

    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    await expect(loadSafetensorsFile(path)).rejects.toThrow(CheckpointError);
    await expect(loadSafetensorsFile(path)).rejects.toThrow(path);
    await expect(loadSafetensorsFile(join(dir, 'none.safetensors'))).rejects.toThrow(/Cannot read.*none/);
  });
});

describeBackends('toTensor', () => {
  it('makes a float32 or int32 tensor the caller owns', async () => {
    const f = toTensor({ shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) });
    const i = toTensor({ shape: [3], data: Int32Array.from([1, 2, 3]) });
    expect([f.dtype, i.dtype]).toEqual(['float32', 'int32']);
    expect(await f.array()).toEqual([
      [1, 2],
      [3, 4],
    ]);
    tf.dispose([f, i]);
  });

  it('refuses a shape that does not match the data, creating nothing', () => {
    expect(() => toTensor({ shape: [3], data: new Float32Array(2) })).toThrow(CheckpointError);
  });
});
