/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length N, N bytes of
 * JSON (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {…} }`), then the
 * data section the offsets point into.
 *
 * The reader returns plain typed arrays, never tf tensors, so a failed or abandoned load cannot
 * leak GPU/wasm memory. Every inconsistency is a {@link CheckpointError} naming the file, the
 * tensor, what was given and what was expected: a corrupt file never yields garbage numbers.
 */
import { readFile } from 'node:fs/promises';
import { CheckpointError } from '../errors.js';
import { CheckpointFile } from './CheckpointFile.js';
import { CheckpointTensors, contiguousStrides, type CheckpointTensorsOptions } from './CheckpointTensors.js';
import {
  decodeTensorBytes,
  ITEM_SIZE,
  TENSOR_DTYPES,
  type DecodedTensor,
  type TensorDtype,
} from './decodeTensorBytes.js';

/** The dtypes lazylens reads and writes. Floats decode to Float32Array, integers to Int32Array. */
export type SafetensorsDtype = TensorDtype;

const DTYPES = TENSOR_DTYPES;

/** One tensor of a safetensors file, decoded: its stored dtype, shape and row-major values. */
export type SafetensorsTensor = DecodedTensor;

export interface SafetensorsFile {
  /** Tensors in header order. */
  tensors: Map<string, SafetensorsTensor>;
  /** The header's `__metadata__` (string to string), empty when absent. */
  metadata: Record<string, string>;
}

export interface ReadOptions {
  /** What to call the bytes in error messages (a path); default 'safetensors data'. */
  source?: string;
}

/**
 * Parses safetensors bytes.
 * @throws CheckpointError when the bytes are truncated, the header is corrupt, a dtype is not
 * supported, offsets are out of range or overlap, or a byte size does not match its shape.
 */
export function readSafetensors(bytes: Uint8Array, options: ReadOptions = {}): SafetensorsFile {
  const source = options.source ?? 'safetensors data';
  const fail = (what: string): never => {
    throw new CheckpointError(`${source}: ${what}`);
  };
  const dataStart = 8 + headerLength(bytes.length, () => bytes.subarray(0, 8), fail);
  const layout = parseLayout(bytes.subarray(8, dataStart), bytes.length - dataStart, fail);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of layout.entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: decodeTensorBytes(raw, e.dtype, e.name, fail),
    });
  }
  return { tensors, metadata: layout.metadata };
}

/** The header's byte length, from the first 8 bytes, checked against the file's size. */
function headerLength(size: number, first8: () => Uint8Array, fail: Fail): number {
  if (size < 8) fail(`file has ${size} bytes; expected at least 8 (the header length). Truncated?`);
  const bytes = first8();
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(size - 8)) {
    fail(
      `header length is ${headerLen} bytes but only ${size - 8} bytes follow the length field; ` +
        'the file is truncated or not safetensors.',
    );
  }
  return Number(headerLen);
}

interface LayoutEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range in the data section (after the header). */
  begin: number;
  end: number;
}

/** The header's metadata and tensor entries, each checked against the data section's length. */
function parseLayout(
  headerBytes: Uint8Array,
  dataLen: number,
  fail: Fail,
): { metadata: Record<string, string>; entries: LayoutEntry[] } {
  const header = parseHeader(headerBytes, fail);
  const metadata = parseMetadata(header.__metadata__, fail);
  const entries: LayoutEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    entries.push({ name, ...parseEntry(name, raw, dataLen, fail) });
  }
  checkOverlaps(entries, fail);
  return { metadata, entries };
}

/**
 * Opens a `.safetensors` file and reads only its header; each tensor is read from disk and
 * decoded when the returned map's `get` asks for it. The caller must `close()` the map.
 * @throws CheckpointError naming the path when the file cannot be opened or its header is corrupt.
 */
export function openSafetensorsFile(
  path: string,
  options: CheckpointTensorsOptions = {},
): { tensors: CheckpointTensors; metadata: Record<string, string> } {
  const file = CheckpointFile.open(path);
  try {
    const fail = (what: string): never => {
      throw new CheckpointError(`${path}: ${what}`);
    };
    const dataStart = 8 + headerLength(file.size, () => file.read(0, 8), fail);
    const layout = parseLayout(file.read(8, dataStart - 8), file.size - dataStart, fail);
    const locations = new Map(
      layout.entries.map((e) => [
        e.name,
        {
          file,
          dtype: e.dtype,
          shape: e.shape,
          storageStart: dataStart + e.begin,
          storageOffset: 0,
          strides: contiguousStrides(e.shape),
        },
      ]),
    );
    return { tensors: new CheckpointTensors(locations, [file], path, options), metadata: layout.metadata };
  } catch (e) {
    file.close();
    throw e;
  }
}

/** Reads and parses one `.safetensors` file; errors name its path. */
export async function loadSafetensorsFile(path: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new CheckpointError(`Cannot read safetensors file ${path}: ${(e as Error).message}`);
  }
  return readSafetensors(bytes, { source: path });
}

/**
 * Encodes tensors as safetensors bytes (header padded with spaces to 8 bytes, data contiguous in
 * the given order). Float data is rounded to nearest-even for F16/BF16; integer data is
 * sign-extended for I64.
 * @throws CheckpointError when a tensor's data length, kind or shape does not fit its dtype.
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorsTensor> | Map<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    checkWritable(name, t);
    const size = t.data.length * ITEM_SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const jsonBytes = () => new TextEncoder().encode(json);
  json += ' '.repeat((8 - (jsonBytes().length % 8)) % 8);
  const headerBytes = jsonBytes();
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of list) {
    at = encode(t, view, at);
  }
  return out;
}

type Fail = (what: string) => never;

function parseHeader(raw: Uint8Array, fail: Fail): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail(`header is ${describe(parsed)}; expected a JSON object of tensor entries.`);
  }
  return parsed as Record<string, unknown>;
}

function parseMetadata(raw: unknown, fail: Fail): Record<string, string> {
  if (raw === undefined) return {};
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(`__metadata__ is ${describe(raw)}; expected an object of strings.`);
  }
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') fail(`__metadata__['${k}'] is ${describe(v)}; expected a string.`);
  }
  return { ...(raw as Record<string, string>) };
}

function parseEntry(
  name: string,
  raw: unknown,
  dataLen: number,
  fail: Fail,
): { dtype: SafetensorsDtype; shape: number[]; begin: number; end: number } {
  const at = `tensor '${name}'`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(`${at}: header entry is ${describe(raw)}; expected {dtype, shape, data_offsets}.`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(DTYPES as string[]).includes(dtype)) {
    fail(`${at}: dtype ${describe(dtype)} is not supported; expected one of ${DTYPES.join(', ')}.`);
  }
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
    fail(`${at}: shape ${describe(shape)} is invalid; expected an array of non-negative integers.`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)
  ) {
    fail(
      `${at}: data_offsets ${describe(offsets)} is invalid; expected [begin, end], non-negative integers.`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${at}: data_offsets [${begin}, ${end}] has begin > end.`);
  if (end > dataLen) {
    fail(
      `${at}: data_offsets [${begin}, ${end}] end past the data section, which has ${dataLen} bytes. ` +
        'The file is truncated or corrupt.',
    );
  }
  const dims = shape as number[];
  const itemSize = ITEM_SIZE[dtype as SafetensorsDtype];
  const expected = dims.reduce((a, b) => a * b, 1) * itemSize;
  if (end - begin !== expected) {
    fail(
      `${at}: holds ${end - begin} bytes; expected ${expected} (shape [${dims.join(', ')}] × ${itemSize} bytes of ${dtype}).`,
    );
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...dims], begin, end };
}

function checkOverlaps(entries: { name: string; begin: number; end: number }[], fail: Fail): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.begin < a.end) {
      fail(
        `tensors '${a.name}' [${a.begin}, ${a.end}) and '${b.name}' [${b.begin}, ${b.end}) overlap; ` +
          'expected disjoint data_offsets.',
      );
    }
  }
}

function checkWritable(name: string, t: SafetensorsTensor): void {
  const at = `writeSafetensors: tensor '${name}'`;
  if (!(DTYPES as string[]).includes(t.dtype)) {
    throw new CheckpointError(
      `${at}: dtype '${t.dtype}' is not supported; expected one of ${DTYPES.join(', ')}.`,
    );
  }
  if (!t.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new CheckpointError(
      `${at}: shape [${t.shape.join(', ')}] is invalid; expected non-negative integers.`,
    );
  }
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new CheckpointError(
      `${at}: data has ${t.data.length} values; expected ${size} for shape [${t.shape.join(', ')}].`,
    );
  }
  const isFloat = t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16';
  if (isFloat !== t.data instanceof Float32Array) {
    throw new CheckpointError(
      `${at}: data is ${t.data.constructor.name}; expected ${isFloat ? 'Float32Array' : 'Int32Array'} for ${t.dtype}.`,
    );
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function encode(t: SafetensorsTensor, view: DataView, at: number): number {
  const n = t.data.length;
  switch (t.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(at + 4 * i, t.data[i], true);
      return at + 4 * n;
    case 'I32':
      for (let i = 0; i < n; i++) view.setInt32(at + 4 * i, t.data[i], true);
      return at + 4 * n;
    case 'I64':
      for (let i = 0; i < n; i++) view.setBigInt64(at + 8 * i, BigInt(t.data[i]), true);
      return at + 8 * n;
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(at + 2 * i, floatToHalf(t.data[i]), true);
      return at + 2 * n;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(at + 2 * i, floatToBfloat(t.data[i]), true);
      return at + 2 * n;
    default:
      return t.dtype satisfies never;
  }
}

/** Rounds a float32 to the nearest half-precision bit pattern (ties to even). */
function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias: 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: value / 2^-24 = (1.mant) * 2^(e - 14 + 23) in units of the float's last bit.
    return sign | roundShift(mant | 0x800000, 14 - e);
  }
  // A carry out of the mantissa rolls into the exponent, which is the correct rounding (even to inf).
  return sign | roundShift((e << 23) | mant, 13);
}

/** Rounds a float32 to the nearest bfloat16 bit pattern (ties to even), keeping NaN a NaN. */
function floatToBfloat(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  if (Number.isNaN(x)) return ((bits >>> 16) | 0x40) & 0xffff;
  return roundShift(bits, 16) & 0xffff;
}

function roundShift(value: number, shift: number): number {
  const kept = Math.floor(value / 2 ** shift);
  const rest = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rest > half || (rest === half && kept % 2 === 1) ? kept + 1 : kept;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
