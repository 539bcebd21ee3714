/**
 * What lazylens's own wasm kernels need of tfjs-backend-wasm's backend object: allocating an
 * output and finding where a tensor's bytes lie in the wasm heap. The kernels then read and write
 * those bytes in place, from JavaScript or through a native library, without copying a tensor out.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's backend object the kernels use. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: tf.DataId): number;
  wasm: { HEAPU8: Uint8Array };
}

/** The kernel arguments' backend, as the wasm backend. */
export function wasmBackendOf(args: Parameters<tf.KernelFunc>[0]): WasmBackendLike {
  return args.backend as unknown as WasmBackendLike;
}

/**
 * The heap's bytes now. Read it after the last allocation of a kernel: a heap that grew is a new
 * buffer, and views of the old one are detached.
 */
export function heapBytes(backend: WasmBackendLike): Uint8Array {
  return backend.wasm.HEAPU8;
}

/** Runs of at least this many bytes are copied with `copyWithin`; shorter ones element by element. */
const BLOCK_COPY_BYTES = 32;

/**
 * A copier of runs of `elements` elements of `bytes` bytes each, from the tensor at byte `src` to
 * the one at `dst` (offsets within each given in bytes). Element by element it copies through a
 * view of the element's width, so floats are moved bit for bit (NaN payloads included).
 */
export function runCopier(
  heap: Uint8Array,
  bytes: 4 | 1,
  src: number,
  dst: number,
  elements: number,
): (from: number, to: number) => void {
  const runBytes = elements * bytes;
  if (runBytes >= BLOCK_COPY_BYTES)
    return (from, to) => heap.copyWithin(dst + to, src + from, src + from + runBytes);
  const view = bytes === 4 ? new Int32Array(heap.buffer) : heap;
  const shift = bytes === 4 ? 2 : 0;
  return (from, to) => {
    const s = (src + from) >> shift;
    const d = (dst + to) >> shift;
    for (let e = 0; e < elements; e++) view[d + e] = view[s + e];
  };
}

/**
 * Calls `f` for every index over `extent` (leading dimensions), with its element offset under
 * `strides` and its ordinal.
 */
export function forEachIndex(
  extent: number[],
  strides: number[],
  f: (offset: number, ordinal: number) => void,
): void {
  const count = tf.util.sizeFromShape(extent);
  const index = new Array<number>(extent.length).fill(0);
  let offset = 0;
  for (let n = 0; n < count; n++) {
    f(offset, n);
    for (let d = extent.length - 1; d >= 0; d--) {
      offset += strides[d];
      if (++index[d] < extent[d]) break;
      offset -= extent[d] * strides[d];
      index[d] = 0;
    }
  }
}

/** Byte offset of `info`'s data in the heap. */
export function byteOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}

/**
 * One of tfjs's wasm kernels and lazylens's replacement for it, swapped in and out of tfjs's
 * global kernel registry. The replacement may call tfjs's kernel for what it does not take; tfjs's
 * setup step is kept, so that works whenever the backend is (re)initialised.
 */
export class WasmKernelSwap {
  private own: tf.KernelConfig | undefined;

  /**
   * @param name the kernel's name (`tf.GatherV2`, …).
   * @param make the replacement given tfjs's kernel, or undefined when it cannot run here.
   */
  constructor(
    private readonly name: string,
    private readonly make: (own: tf.KernelConfig) => tf.KernelFunc | undefined,
  ) {}

  /** Whether the replacement is in place. */
  get active(): boolean {
    return this.own !== undefined;
  }

  /** Puts the replacement in place (once); returns whether it is. */
  install(): boolean {
    if (this.own) return true;
    const own = tf.getKernel(this.name, 'wasm');
    const replacement = own && this.make(own);
    if (!own || !replacement) return false;
    tf.unregisterKernel(this.name, 'wasm');
    tf.registerKernel({ ...own, kernelFunc: replacement });
    this.own = own;
    return true;
  }

  /** Puts tfjs's kernel back (for tests that compare the two). */
  uninstall(): void {
    if (!this.own) return;
    tf.unregisterKernel(this.name, 'wasm');
    tf.registerKernel(this.own);
    this.own = undefined;
  }
}
