/**
 * The wasm backend's `Tile` kernel (behind `tf.tile` and `tf.broadcastTo`) as block copies within
 * the wasm heap.
 *
 * tfjs's wasm kernel computes every output element's source apart: broadcasting a bias of 768 to
 * [1, 8, 7, 768] took 5.7 ms, and a positional embedding to a batch of 8×128 about 107 ms, on this
 * project's 2-core test machine. This kernel first copies each row of the input to its place in
 * the output, then, from the innermost dimension out, repeats each filled block by doubling
 * copies, so every byte is written by a `copyWithin` of at least a row.
 */
import * as tf from '@tensorflow/tfjs';
import { byteOffset, forEachIndex, heapBytes, runCopier, wasmBackendOf, WasmKernelSwap } from './wasmHeap.js';

/** wasm's `Tile` as block copies: installed when wasm starts (../index.ts). */
export const heapTileKernel = new WasmKernelSwap(tf.Tile, (own) => (args) => heapTile(args, own));

function heapTile(args: Parameters<tf.KernelFunc>[0], own: tf.KernelConfig): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { reps } = args.attrs as unknown as { reps: number[] };
  const bytes = x.dtype === 'string' ? 0 : tf.util.bytesPerElement(x.dtype);
  if (bytes !== 4 && bytes !== 1) return own.kernelFunc(args);
  const shape = x.shape;
  const rank = shape.length;
  const outShape = shape.map((n, d) => n * reps[d]);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(outShape, x.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const heap = heapBytes(backend); // after the allocation: a grown heap is a new buffer
  const src = byteOffset(backend, x);
  const dst = byteOffset(backend, out);
  const outStrides = [...tf.util.computeStrides(outShape), 1];
  // 1. Each row of x (its last dimension) to where its copy of index 0 in every repeat goes.
  const row = rank === 0 ? 1 : shape[rank - 1];
  const copyRow = runCopier(heap, bytes, src, dst, row);
  forEachIndex(shape.slice(0, -1), outStrides, (to, r) => copyRow(r * row * bytes, to * bytes));
  // 2. From the innermost dimension out: dimension d's filled block (its input extent, every
  // inner dimension already whole) repeated along d, in place, by doubling copies.
  for (let d = rank - 1; d >= 0; d--) {
    if (reps[d] === 1) continue;
    const block = shape[d] * outStrides[d] * bytes;
    const whole = block * reps[d];
    forEachIndex(shape.slice(0, d), outStrides, (at) => {
      const base = dst + at * bytes;
      for (let filled = block; filled < whole; filled *= 2) {
        heap.copyWithin(base + filled, base, base + Math.min(filled, whole - filled));
      }
    });
  }
  return out;
}
