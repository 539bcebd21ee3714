/**
 * Attention's two products on wasm through BLAS, reading queries, keys and values where the
 * forward made them, in TransformerLens's hook layout [batch, pos, heads, d_head]: a head's rows
 * lie `heads·d_head` apart there, and a BLAS product takes that row stride as its leading
 * dimension. So the scores need no transposed copies of the queries and keys, and the weighted
 * sum of values is written straight into z's [batch, pos, heads, d_head] (the batched-matMul form
 * transposes q, k and v in and z out: 2.5 ms a layer at 8×59 on a GPT-2-small shape). The scores'
 * scale is the product's alpha.
 *
 * Used where the wasm backend's matMul runs through BLAS (./blasMatMul.ts) and the
 * backend-specific forms are on, under the tape too: each kernel's gradient is written with plain
 * tfjs ops (the products of the plain form's gradient), so a pass that records gradients computes
 * the same activations as one that does not (attribution patching subtracts the two).
 */
import * as tf from '@tensorflow/tfjs';
import { nativeSgemm, type Sgemm } from '../nativeBlas.js';
import { blasMatMulActive } from './blasMatMul.js';
import { byteOffset, heapBytes, wasmBackendOf, type WasmBackendLike } from './wasmHeap.js';
import { fusedKernelsEnabled } from './webgpuProgram.js';

const SCORES = 'LazylensHeadScores';
const MIX = 'LazylensHeadMix';

let registered = false;

/** Whether attention's products run as the strided BLAS products here and now. */
export function blasAttentionOn(): boolean {
  if (!fusedKernelsEnabled() || tf.getBackend() !== 'wasm' || !blasMatMulActive()) return false;
  const sgemm = nativeSgemm();
  if (!sgemm) return false;
  if (!registered) {
    tf.registerKernel({
      kernelName: SCORES,
      backendName: 'wasm',
      kernelFunc: (a) => headScoresKernel(a, sgemm),
    });
    tf.registerKernel({ kernelName: MIX, backendName: 'wasm', kernelFunc: (a) => headMixKernel(a, sgemm) });
    tf.registerGradient({ kernelName: SCORES, inputsToSave: ['q', 'k'], gradFunc: headScoresGrad });
    tf.registerGradient({ kernelName: MIX, inputsToSave: ['pattern', 'v'], gradFunc: headMixGrad });
    registered = true;
  }
  return true;
}

/**
 * Scores [b, h, qLen, kLen] = q · kᵀ · alpha per head, from q [b, qLen, h, dh] and k
 * [b, kLen, g, dh] (query head i reads key group ⌊i·g/h⌋). Only where {@link blasAttentionOn}.
 */
export function headScores(q: tf.Tensor, k: tf.Tensor, alpha: number): tf.Tensor {
  return tf.engine().runKernel<tf.Tensor>(SCORES, { q, k }, { alpha });
}

/**
 * z [b, qLen, h, dh] = pattern · v per head, from pattern [b, h, qLen, kLen] and v
 * [b, kLen, g, dh]. Only where {@link blasAttentionOn}.
 */
export function headMix(pattern: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel<tf.Tensor>(MIX, { pattern, v }, {});
}

/** [b, pos, n, dh] → [b·groups, (n / groups)·pos, dh]: each group's heads' rows in turn. */
function byGroup(x: tf.Tensor, groups: number): tf.Tensor3D {
  const [b, pos, n, dh] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * groups, (n / groups) * pos, dh]);
}

/** The inverse of {@link byGroup}: [b·groups, n·pos / groups, dh] → [b, pos, n, dh]. */
function fromGroups(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const [b, pos, n, dh] = shape;
  return tf.transpose(tf.reshape(x, [b, n, pos, dh]), [0, 2, 1, 3]);
}

// dQ = α·dS·K and dK = α·dSᵀ·Q, per key group (a group's query heads stacked as rows).
const headScoresGrad: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const [q, k] = saved;
  const { alpha } = attrs as unknown as { alpha: number };
  const [b, h, qLen, kLen] = (dy as tf.Tensor).shape;
  const [, , g] = k.shape;
  const dS = tf.reshape(dy as tf.Tensor, [b * g, (h / g) * qLen, kLen]);
  return {
    q: () => fromGroups(tf.mul(tf.matMul(dS, byGroup(k, g)), alpha), q.shape),
    k: () => fromGroups(tf.mul(tf.matMul(dS, byGroup(q, g), true, false), alpha), k.shape),
  };
};

// dP = dZ·Vᵀ and dV = Pᵀ·dZ, per key group.
const headMixGrad: tf.GradConfig['gradFunc'] = (dy, saved) => {
  const [pattern, v] = saved;
  const [b, h, qLen, kLen] = pattern.shape;
  const [, , g] = v.shape;
  const dZ = byGroup(dy as tf.Tensor, g);
  return {
    pattern: () => tf.reshape(tf.matMul(dZ, byGroup(v, g), false, true), [b, h, qLen, kLen]),
    v: () =>
      fromGroups(tf.matMul(tf.reshape(pattern, [b * g, (h / g) * qLen, kLen]), dZ, true, false), v.shape),
  };
};

/** A float32 view of `info` in the heap, from its `offset`-th element to the heap's end. */
function viewFrom(
  heap: ArrayBufferLike,
  backend: WasmBackendLike,
  info: tf.TensorInfo,
  offset: number,
): Float32Array {
  return new Float32Array(heap, byteOffset(backend, info) + offset * 4);
}

/** Calls `f` for each batch row and query head, with the key group the head reads. */
function forEachHead(b: number, h: number, g: number, f: (bi: number, hi: number, gi: number) => void): void {
  for (let bi = 0; bi < b; bi++) for (let hi = 0; hi < h; hi++) f(bi, hi, Math.floor((hi * g) / h));
}

function headScoresKernel(args: Parameters<tf.KernelFunc>[0], sgemm: Sgemm): tf.TensorInfo {
  const { q, k } = args.inputs as { q: tf.TensorInfo; k: tf.TensorInfo };
  const { alpha } = args.attrs as unknown as { alpha: number };
  const [b, qLen, h, dh] = q.shape;
  const [, kLen, g] = k.shape;
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput([b, h, qLen, kLen], 'float32');
  const heap = heapBytes(backend).buffer; // after the allocation: a grown heap is a new buffer
  forEachHead(b, h, g, (bi, hi, gi) =>
    sgemm(
      false,
      true,
      qLen,
      kLen,
      dh,
      viewFrom(heap, backend, q, (bi * qLen * h + hi) * dh),
      h * dh,
      viewFrom(heap, backend, k, (bi * kLen * g + gi) * dh),
      g * dh,
      viewFrom(heap, backend, out, (bi * h + hi) * qLen * kLen),
      kLen,
      alpha,
    ),
  );
  return out;
}

function headMixKernel(args: Parameters<tf.KernelFunc>[0], sgemm: Sgemm): tf.TensorInfo {
  const { pattern, v } = args.inputs as { pattern: tf.TensorInfo; v: tf.TensorInfo };
  const [b, h, qLen, kLen] = pattern.shape;
  const [, , g, dh] = v.shape;
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput([b, qLen, h, dh], 'float32');
  const heap = heapBytes(backend).buffer;
  forEachHead(b, h, g, (bi, hi, gi) =>
    sgemm(
      false,
      false,
      qLen,
      dh,
      kLen,
      viewFrom(heap, backend, pattern, (bi * h + hi) * qLen * kLen),
      kLen,
      viewFrom(heap, backend, v, (bi * kLen * g + gi) * dh),
      g * dh,
      viewFrom(heap, backend, out, (bi * qLen * h + hi) * dh),
      h * dh,
    ),
  );
  return out;
}
