/**
 * The wasm backend's `GatherV2` kernel as copies of whole slices within the wasm heap.
 *
 * tfjs's wasm kernel computes every output element's source index apart, about 70 ns an element
 * on this project's 2-core test machine: 25–30 ms to embed 8×64 tokens from GPT-2's [50257, 768]
 * table, and as much again for the positional rows. A gather moves `sliceSize` contiguous
 * elements per index (a row of 768 for an embedding), so this kernel copies each slice with one
 * `copyWithin` on the heap's bytes (one element at a time only when slices are short).
 */
import * as tf from '@tensorflow/tfjs';
import { byteOffset, heapBytes, runCopier, wasmBackendOf, WasmKernelSwap } from './wasmHeap.js';

interface GatherAttrs {
  axis: number;
  batchDims: number;
}

/** wasm's `GatherV2` as slice copies: installed when wasm starts (../index.ts). */
export const heapGatherKernel = new WasmKernelSwap(tf.GatherV2, (own) => (args) => heapGather(args, own));

function heapGather(
  args: Parameters<tf.KernelFunc>[0],
  own: tf.KernelConfig,
): tf.TensorInfo | tf.TensorInfo[] {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as GatherAttrs;
  const bytes = x.dtype === 'string' ? 0 : tf.util.bytesPerElement(x.dtype);
  if (indices.dtype !== 'int32' || (bytes !== 4 && bytes !== 1)) return own.kernelFunc(args);
  const backend = wasmBackendOf(args);
  const at = tf.util.parseAxisParam(axis, x.shape)[0];
  const axisDim = x.shape[at];
  const count = tf.util.sizeFromShape(indices.shape);
  // Checked as tfjs's kernel does, with its message: an index outside the axis is an error.
  const ids = new Int32Array(heapBytes(backend).buffer, byteOffset(backend, indices), count).slice();
  for (const index of ids) {
    tf.util.assert(
      index >= 0 && index < axisDim,
      () => `GatherV2: the index value ${index} is not in [0, ${axisDim - 1}]`,
    );
  }
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, at, batchDims);
  const out = backend.makeOutput(info.outputShape, x.dtype);
  if (tf.util.sizeFromShape(info.outputShape) === 0 || tf.util.sizeFromShape(x.shape) === 0) return out;
  const heap = heapBytes(backend); // after the allocation: a grown heap is a new buffer
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const perBatch = count / batchSize;
  const src = byteOffset(backend, x);
  const dst = byteOffset(backend, out);
  const sliceBytes = sliceSize * bytes;
  const copySlice = runCopier(heap, bytes, src, dst, sliceSize);
  let to = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = (b * outerSize + o) * dimSize;
      for (let i = 0; i < perBatch; i++) {
        copySlice((base + ids[b * perBatch + i]) * sliceBytes, to);
        to += sliceBytes;
      }
    }
  }
  return out;
}
