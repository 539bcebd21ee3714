/**
 * The wasm backend's `BatchMatMul` kernel, run by the machine's BLAS where one is loaded (see
 * ../nativeBlas.ts): every `tf.matMul` on wasm, in the forward, the analyses and their gradients
 * (whose products are matMuls too), reaches it, transposed operands and batches included.
 *
 * The kernel reads its operands and writes its result where they lie in the wasm heap. What it
 * does not take (other dtypes, batch broadcasts other than one side's single matrix, tiny or
 * empty products, a plain product of a few rows) goes to tfjs's own kernel, unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeSgemm, type Sgemm } from '../nativeBlas.js';
import { byteOffset, heapBytes, wasmBackendOf, WasmKernelSwap } from './wasmHeap.js';

/** Multiply-adds below which the foreign call's overhead is not worth it (a few microseconds). */
const MIN_BLAS_WORK = 4096;

/**
 * Rows up to which tfjs's kernel keeps a plain (unbatched, untransposed) product. XNNPACK packs a
 * right operand once and keeps the packing while the tensor lives, where BLAS packs it on every
 * call: for a weight times a few rows (a token of `generate`) the kept packing wins, e.g. 1 row
 * by a 768×3072 weight 0.34–0.48 vs 0.70–0.93 ms, by 768×50257 12.9 vs 17.1 ms; from 16 rows BLAS
 * wins by 3–5× (measured on 2 threads).
 */
const MAX_PREPACKED_ROWS = 4;

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

const swap = new WasmKernelSwap(tf.BatchMatMul, (own) => {
  const sgemm = nativeSgemm();
  return sgemm && ((args) => blasBatchMatMul(args, sgemm, own));
});

/** Whether `BatchMatMul` on wasm runs through BLAS now. */
export function blasMatMulActive(): boolean {
  return swap.active;
}

/**
 * Puts the BLAS kernel in place of wasm's `BatchMatMul` when a library loads (once per process;
 * tfjs's kernel registry is global). Returns whether it is in place.
 * @throws BackendError when `LAZYLENS_BLAS` names a library that cannot be used.
 */
export function installBlasMatMul(): boolean {
  return swap.install();
}

/** Puts tfjs's own kernel back (for tests that compare the two). */
export function uninstallBlasMatMul(): void {
  swap.uninstall();
}

function blasBatchMatMul(
  args: Parameters<tf.KernelFunc>[0],
  sgemm: Sgemm,
  own: tf.KernelConfig,
): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
  const plan = planProduct(a.shape, b.shape, transposeA, transposeB);
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !plan) return own.kernelFunc(args);
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(plan.outShape, 'float32');
  const heap = heapBytes(backend).buffer; // after the allocation: a grown heap is a new buffer
  const view = (info: tf.TensorInfo, size: number) => new Float32Array(heap, byteOffset(backend, info), size);
  const { m, n, k, batchA, batchB } = plan;
  const aAll = view(a, batchA * m * k);
  const bAll = view(b, batchB * k * n);
  const cAll = view(out, Math.max(batchA, batchB) * m * n);
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  if (batchB === 1 && !transposeA) {
    // Every matrix of A times the one B: a single product with the batch's rows stacked.
    sgemm(false, transposeB, batchA * m, n, k, aAll, lda, bAll, ldb, cAll, n);
    return out;
  }
  const batch = Math.max(batchA, batchB);
  for (let i = 0; i < batch; i++) {
    const ai = batchA === 1 ? 0 : i;
    const bi = batchB === 1 ? 0 : i;
    sgemm(
      transposeA,
      transposeB,
      m,
      n,
      k,
      aAll.subarray(ai * m * k, (ai + 1) * m * k),
      lda,
      bAll.subarray(bi * k * n, (bi + 1) * k * n),
      ldb,
      cAll.subarray(i * m * n, (i + 1) * m * n),
      n,
    );
  }
  return out;
}

interface ProductPlan {
  m: number;
  n: number;
  k: number;
  batchA: number;
  batchB: number;
  outShape: number[];
}

/**
 * The product's sizes, or undefined for what the BLAS kernel leaves to tfjs's: mismatched inner
 * sizes (tfjs's kernel throws its own error), batch shapes that broadcast other than by one
 * side holding a single matrix, products under {@link MIN_BLAS_WORK}, and plain products of at
 * most {@link MAX_PREPACKED_ROWS} rows.
 */
export function planProduct(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
): ProductPlan | undefined {
  if (aShape.length < 2 || bShape.length < 2) return undefined;
  const [a0, a1] = aShape.slice(-2);
  const [b0, b1] = bShape.slice(-2);
  const [m, k] = transposeA ? [a1, a0] : [a0, a1];
  const [kB, n] = transposeB ? [b1, b0] : [b0, b1];
  if (k !== kB) return undefined;
  const outerA = aShape.slice(0, -2);
  const outerB = bShape.slice(0, -2);
  const batchA = outerA.reduce((p, d) => p * d, 1);
  const batchB = outerB.reduce((p, d) => p * d, 1);
  let outer: number[];
  if (batchA === batchB && sameShape(outerA, outerB)) outer = outerA;
  else if (batchB === 1 && outerB.length <= outerA.length) outer = outerA;
  else if (batchA === 1 && outerA.length <= outerB.length) outer = outerB;
  else return undefined;
  if (Math.max(batchA, batchB) * m * n * k < MIN_BLAS_WORK) return undefined;
  const plain = batchA === 1 && batchB === 1 && !transposeA && !transposeB;
  if (plain && m <= MAX_PREPACKED_ROWS) return undefined;
  return { m, n, k, batchA, batchB, outShape: [...outer, m, n] };
}

function sameShape(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}
