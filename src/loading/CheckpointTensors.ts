/**
 * The tensors of a checkpoint on disk, decoded one at a time when asked for. The weight
 * converters look tensors up by name; each lookup reads just that tensor's bytes and widens
 * F16/BF16 to float32 then, so loading never holds the raw checkpoint next to its float32 copy.
 */
import { CheckpointError } from '../errors.js';
import type { CheckpointFile } from './CheckpointFile.js';
import { checkFinite } from './checkFinite.js';
import {
  decodeTensorBytes,
  isFloatDtype,
  ITEM_SIZE,
  LITTLE_ENDIAN,
  TENSOR_DTYPES,
  type DecodedTensor,
  type TensorDtype,
} from './decodeTensorBytes.js';

/** Where a tensor's elements are in a file: a strided view of a storage, as PyTorch describes tensors. */
export interface TensorLocation {
  file: CheckpointFile;
  /** A dtype lazylens decodes, or the format's own name for one it does not (reading it fails). */
  dtype: TensorDtype | { unsupported: string };
  shape: number[];
  /** Byte position in the file of the storage's element 0. */
  storageStart: number;
  /** Elements from the storage's start to the tensor's element [0, …, 0]. */
  storageOffset: number;
  /** Element strides per dimension; row-major for a contiguous tensor. */
  strides: number[];
}

/** Options of {@link CheckpointTensors}. */
export interface CheckpointTensorsOptions {
  /** Accept NaN and ±Inf in float tensors; by default reading one fails, naming the tensor. */
  allowNonFinite?: boolean;
}

/** Row-major strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/** Number of elements of `shape` (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A read-only map from tensor name to decoded tensor, reading from open files on each `get`.
 * Nothing is cached: a converter that needs a tensor twice should keep it. Call {@link close}
 * when done (loaders do so in a `finally`).
 */
export class CheckpointTensors implements ReadonlyMap<string, DecodedTensor> {
  private readonly allowNonFinite: boolean;

  /**
   * @param locations tensor name → where its elements are
   * @param files the files `locations` point into; {@link close} closes them
   * @param source names the checkpoint in error messages (a path)
   */
  constructor(
    private readonly locations: ReadonlyMap<string, TensorLocation>,
    private readonly files: readonly CheckpointFile[],
    readonly source: string,
    options: CheckpointTensorsOptions = {},
  ) {
    this.allowNonFinite = options.allowNonFinite ?? false;
  }

  /**
   * One map over several checkpoints (the shards of one model); it owns all their files.
   * @throws CheckpointError when two parts hold a tensor of the same name.
   */
  static merge(parts: readonly CheckpointTensors[], source: string, options: CheckpointTensorsOptions = {}) {
    const locations = new Map<string, TensorLocation>();
    const from = new Map<string, string>();
    for (const part of parts) {
      for (const [name, loc] of part.locations) {
        const earlier = from.get(name);
        if (earlier !== undefined) {
          throw new CheckpointError(
            `${source}: tensor '${name}' is in both ${earlier} and ${part.source}; expected each tensor in one shard.`,
          );
        }
        locations.set(name, loc);
        from.set(name, part.source);
      }
    }
    return new CheckpointTensors(
      locations,
      parts.flatMap((p) => p.files),
      source,
      options,
    );
  }

  get size(): number {
    return this.locations.size;
  }

  has(name: string): boolean {
    return this.locations.has(name);
  }

  /** Elements of every tensor, counted from the headers (nothing is read). */
  elementCount(): number {
    let n = 0;
    for (const loc of this.locations.values()) n += numel(loc.shape);
    return n;
  }

  /** The stored dtype and shape of a tensor, without reading it. */
  describe(name: string): { dtype: string; shape: number[] } | undefined {
    const loc = this.locations.get(name);
    if (!loc) return undefined;
    return {
      dtype: typeof loc.dtype === 'string' ? loc.dtype : loc.dtype.unsupported,
      shape: [...loc.shape],
    };
  }

  /**
   * Reads and decodes one tensor (a fresh array each call).
   * @throws CheckpointError when its dtype is not supported, its bytes are missing, or (unless
   *   `allowNonFinite`) a float tensor holds NaN or ±Inf.
   */
  get(name: string): DecodedTensor | undefined {
    const loc = this.locations.get(name);
    if (!loc) return undefined;
    const fail = (what: string): never => {
      throw new CheckpointError(`${loc.file.path}: ${what}`);
    };
    if (typeof loc.dtype !== 'string') {
      return fail(
        `tensor '${name}' has dtype ${loc.dtype.unsupported}; lazylens reads ${TENSOR_DTYPES.join(', ')}.`,
      );
    }
    const dtype = loc.dtype;
    const data = readElements(loc, dtype, name, fail);
    if (!this.allowNonFinite && isFloatDtype(dtype)) checkFinite(name, data, loc.file.path);
    return { dtype, shape: [...loc.shape], data };
  }

  keys(): MapIterator<string> {
    return this.locations.keys();
  }

  *values(): MapIterator<DecodedTensor> {
    for (const name of this.locations.keys()) yield this.get(name)!;
  }

  *entries(): MapIterator<[string, DecodedTensor]> {
    for (const name of this.locations.keys()) yield [name, this.get(name)!];
  }

  [Symbol.iterator](): MapIterator<[string, DecodedTensor]> {
    return this.entries();
  }

  forEach(fn: (value: DecodedTensor, key: string, map: ReadonlyMap<string, DecodedTensor>) => void): void {
    for (const [name, t] of this.entries()) fn(t, name, this);
  }

  /** Closes the files; later `get`s fail. */
  close(): void {
    for (const f of this.files) f.close();
  }
}

function readElements(
  loc: TensorLocation,
  dtype: TensorDtype,
  name: string,
  fail: (what: string) => never,
): Float32Array | Int32Array {
  const count = numel(loc.shape);
  const item = ITEM_SIZE[dtype];
  const start = loc.storageStart + loc.storageOffset * item;
  if (count === 0) return dtype === 'I32' || dtype === 'I64' ? new Int32Array(0) : new Float32Array(0);
  const rowMajor = contiguousStrides(loc.shape);
  // A dimension of size 1 can have any stride in PyTorch; it never moves.
  const contiguous = loc.strides.every((s, d) => loc.shape[d] === 1 || s === rowMajor[d]);
  if (contiguous && LITTLE_ENDIAN && (dtype === 'F32' || dtype === 'I32')) {
    // The file's bytes are already the array's bytes: read straight into it, no staging copy.
    const out = dtype === 'F32' ? new Float32Array(count) : new Int32Array(count);
    loc.file.readInto(new Uint8Array(out.buffer), start);
    return out;
  }
  // A strided view reads the span from its first to its last element, then gathers.
  const span = contiguous ? count : 1 + loc.shape.reduce((acc, n, d) => acc + (n - 1) * loc.strides[d], 0);
  const decoded = decodeTensorBytes(loc.file.read(start, span * item), dtype, name, fail);
  return contiguous ? decoded : gather(decoded, loc.shape, loc.strides);
}

/** The row-major copy of the strided view (`shape`, `strides`) of `src` starting at element 0. */
function gather<T extends Float32Array | Int32Array>(
  src: T,
  shape: readonly number[],
  strides: readonly number[],
): T {
  const count = numel(shape);
  const out = (src instanceof Float32Array ? new Float32Array(count) : new Int32Array(count)) as T;
  const index = new Array<number>(shape.length).fill(0);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    out[i] = src[pos];
    // Odometer: bump the last dimension, carrying into earlier ones.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      pos += strides[d];
      if (index[d] < shape[d]) break;
      pos -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
