/**
 * The wasm backend's `Slice` kernel as copies of contiguous runs within the wasm heap.
 *
 * tfjs's wasm kernel first reads its whole input out of the heap into a new array, so any slice
 * of a large tensor costs a copy of all of it: 150–170 ms for ten rows, or one column, of GPT-2's
 * [768, 50257] unembedding, measured on this project's 2-core test machine. This kernel copies
 * only what the slice keeps, one contiguous run at a time: the trailing dimensions the slice keeps
 * whole join the run, so a slice of whole rows is a single copy.
 */
import * as tf from '@tensorflow/tfjs';
import { byteOffset, forEachIndex, heapBytes, runCopier, wasmBackendOf, WasmKernelSwap } from './wasmHeap.js';

interface SliceAttrs {
  begin: number | number[];
  size?: number | number[];
}

/** wasm's `Slice` as run copies: installed when wasm starts (../index.ts). */
export const heapSliceKernel = new WasmKernelSwap(tf.Slice, (own) => (args) => heapSlice(args, own));

function heapSlice(
  args: Parameters<tf.KernelFunc>[0],
  own: tf.KernelConfig,
): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const bytes = x.dtype === 'string' ? 0 : tf.util.bytesPerElement(x.dtype);
  if (bytes !== 4 && bytes !== 1) return own.kernelFunc(args);
  const { begin, size } = args.attrs as unknown as SliceAttrs;
  const [start, extent] = tf.slice_util.parseSliceParams(x, begin, size);
  // Checked as the cpu backend checks (tfjs's wasm kernel does not, and reads past its input).
  tf.slice_util.assertParamsValid(x, start, extent);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(extent, x.dtype);
  const count = tf.util.sizeFromShape(extent);
  if (count === 0) return out;
  const heap = heapBytes(backend); // after the allocation: a grown heap is a new buffer
  const src = byteOffset(backend, x);
  const dst = byteOffset(backend, out);
  const shape = x.shape;
  const strides = [...tf.util.computeStrides(shape), 1];
  // Dimensions from `inner` on form one contiguous run: every one after it is kept whole.
  let inner = shape.length - 1;
  while (inner > 0 && extent[inner] === shape[inner]) inner--;
  const runElements = inner < 0 ? 1 : extent[inner] * strides[inner];
  const runBytes = runElements * bytes;
  const copyRun = runCopier(heap, bytes, src, dst, runElements);
  let first = 0; // elements before the slice's first one
  for (let d = 0; d < shape.length; d++) first += start[d] * strides[d];
  // One run per index over the dimensions before `inner`, each within its extent.
  forEachIndex(extent.slice(0, Math.max(inner, 0)), strides, (offset, n) =>
    copyRun((first + offset) * bytes, n * runBytes),
  );
  return out;
}
