/**
 * The forward's dense layers on wasm as one BLAS call each: `x · w + b`, written straight into the
 * shape the forward wants ([batch, pos, heads, d_head] for a projection to heads).
 *
 * As tfjs ops a projection is five kernels (reshape to rows, matMul, reshape back, reshape to
 * heads, add the bias), each with tfjs's dispatch cost, and the bias add is a broadcast pass over
 * the output (0.2 ms for [64, 3072] on the build machine). Here the output is filled with the
 * bias row and BLAS adds the product to it (its `beta = 1`); the reshapes are free, since a
 * tensor's bytes do not move when its shape changes. The weight is read in the layout it has
 * (W_O as [heads, d_head, d_model] is the [heads·d_head, d_model] matrix), so the caller reshapes
 * nothing either.
 *
 * Used where the wasm backend's matMul runs through BLAS (./blasMatMul.ts), the backend-specific
 * forms are on and BLAS would take the product (./blasMatMul.ts's `planProduct`: a few rows stay
 * with XNNPACK's kept packing). It runs under the tape too: its gradient is written in tfjs ops,
 * so a pass that records gradients computes the same activations as one that does not.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeSgemm, type Sgemm } from '../nativeBlas.js';
import { blasMatMulActive, planProduct } from './blasMatMul.js';
import { byteOffset, heapBytes, wasmBackendOf } from './wasmHeap.js';
import { fusedKernelsEnabled } from './webgpuProgram.js';

const LINEAR = 'LazylensLinear';
const LINEAR_BIAS = 'LazylensLinearBias';

/** The product's inner size and the output's shape. */
interface LinearAttrs {
  inner: number;
  outShape: number[];
}

let registered = false;

function register(sgemm: Sgemm): void {
  if (registered) return;
  for (const [kernelName, inputsToSave] of [
    [LINEAR, ['x', 'w']],
    [LINEAR_BIAS, ['x', 'w', 'b']],
  ] as const) {
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: (a) => linearKernel(a, sgemm) });
    tf.registerGradient({ kernelName, inputsToSave: [...inputsToSave], gradFunc: linearGrad });
  }
  registered = true;
}

/**
 * `x · w + b` as one BLAS call where it runs (see the module's header), else undefined and the
 * caller runs its composition. x holds rows of `inner` values (its trailing axes), w is `inner`
 * rows of n (any shape of that size, read row-major), b n values (any shape); the result has
 * `outShape`, whose size is x's rows times n.
 * @throws Error when the sizes do not fit together (a caller's bug, not user input).
 */
export function blasLinear(
  x: tf.Tensor,
  w: tf.Tensor,
  inner: number,
  outShape: readonly number[],
  b?: tf.Tensor,
): tf.Tensor | undefined {
  if (!fusedKernelsEnabled() || tf.getBackend() !== 'wasm' || !blasMatMulActive()) return undefined;
  if (x.dtype !== 'float32' || w.dtype !== 'float32' || (b && b.dtype !== 'float32')) return undefined;
  const m = inner === 0 ? 0 : x.size / inner;
  const n = inner === 0 ? 0 : w.size / inner;
  if (!Number.isInteger(m) || !Number.isInteger(n) || tf.util.sizeFromShape([...outShape]) !== m * n) {
    throw new Error(
      `internal: linear of x [${x.shape.join(', ')}] and w [${w.shape.join(', ')}] over ${inner} into [${outShape.join(', ')}]`,
    );
  }
  if (b && b.size !== n) throw new Error(`internal: linear bias of ${b.size} values for ${n} columns`);
  if (!planProduct([m, inner], [inner, n], false, false)) return undefined;
  const sgemm = nativeSgemm();
  if (!sgemm) return undefined;
  register(sgemm);
  const attrs: LinearAttrs = { inner, outShape: [...outShape] };
  const inputs: tf.NamedTensorMap = b ? { x, w, b } : { x, w };
  return tf
    .engine()
    .runKernel<tf.Tensor>(b ? LINEAR_BIAS : LINEAR, inputs, attrs as unknown as tf.NamedAttrMap);
}

function linearKernel(args: Parameters<tf.KernelFunc>[0], sgemm: Sgemm): tf.TensorInfo {
  const { x, w, b } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
  const { inner: k, outShape } = args.attrs as unknown as LinearAttrs;
  const backend = wasmBackendOf(args);
  const out = backend.makeOutput(outShape, 'float32');
  const heap = heapBytes(backend).buffer; // after the allocation: a grown heap is a new buffer
  const m = tf.util.sizeFromShape(x.shape) / k;
  const n = tf.util.sizeFromShape(w.shape) / k;
  const c = new Float32Array(heap, byteOffset(backend, out), m * n);
  if (b) fillRows(c, new Float32Array(heap, byteOffset(backend, b), n), m);
  sgemm(
    false,
    false,
    m,
    n,
    k,
    new Float32Array(heap, byteOffset(backend, x), m * k),
    k,
    new Float32Array(heap, byteOffset(backend, w), k * n),
    n,
    c,
    n,
    1,
    b ? 1 : 0,
  );
  return out;
}

/** Writes `row` into each of `rows` rows of `c`, doubling what is written with each copy. */
function fillRows(c: Float32Array, row: Float32Array, rows: number): void {
  c.set(row);
  const total = rows * row.length;
  for (let filled = row.length; filled < total; filled *= 2) {
    c.copyWithin(filled, 0, Math.min(filled, total - filled));
  }
}

// With X [m, k], W [k, n] and dY [m, n]: dX = dY·Wᵀ, dW = Xᵀ·dY, db = the column sums of dY.
const linearGrad: tf.GradConfig['gradFunc'] = (dy, saved, attrs) => {
  const [x, w, b] = saved;
  const { inner: k } = attrs as unknown as LinearAttrs;
  const n = w.size / k;
  const rows = (): tf.Tensor2D => tf.reshape(dy as tf.Tensor, [-1, n]);
  const grads: Record<string, () => tf.Tensor> = {
    x: () => tf.reshape(tf.matMul(rows(), tf.reshape(w, [k, n]), false, true), x.shape),
    w: () => tf.reshape(tf.matMul(tf.reshape(x, [-1, k]), rows(), true, false), w.shape),
  };
  if (b) grads.b = () => tf.reshape(tf.sum(rows(), 0), b.shape);
  return grads;
};
