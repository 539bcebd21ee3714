/**
 * `a · bᵀ` for each of a batch of matrices: a [B, M, K] and b [B, N, K] → [B, M, N], the shape of
 * attention's two products (queries · keys, pattern · values).
 *
 * On wasm, tfjs runs a batched matMul (more than one matrix, or a transposed operand) as a plain
 * scalar loop; only an unbatched, untransposed matMul reaches XNNPACK's vectorised, threaded
 * kernels. A depthwise convolution does reach them, and it is the same contraction: with `b`
 * as the input (its N rows as the image batch, K as the width, B as the channels) and `a` as the
 * filter (width K, B channels, M outputs per channel), output channel (β, m) of image n is
 * Σₖ a[β, m, k] · b[β, n, k]. On a GPT-2-small shape this was about 3× faster than the batched
 * matMul, transposes included (12 heads at 64 positions: 4.5 vs 7.2 ms; 96 at 128: 41 vs 126 ms).
 * The convolution builds an XNNPACK operator per call (≈2 ms), so small products keep the matMul.
 * Where wasm's matMul runs through a BLAS library (./blasMatMul.ts) the matMul is the faster form.
 */
import * as tf from '@tensorflow/tfjs';
import { blasMatMulActive } from './blasMatMul.js';
import { fusedFormOn } from './webgpuProgram.js';

/** Multiply-adds below which the batched matMul's loop beats the convolution's setup (measured). */
const MIN_CONV_WORK = 2 ** 21;

/** [B, M, K] · [B, N, K]ᵀ → [B, M, N]. */
export function contractLast(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [batch, m, k] = a.shape;
  const n = b.shape[1];
  if (!fusedFormOn('wasm') || blasMatMulActive() || batch * m * n * k < MIN_CONV_WORK)
    return tf.matMul(a, b, false, true);
  return tf.tidy(() => {
    const image = tf.reshape<tf.Rank.R4>(tf.transpose(b, [1, 2, 0]), [n, 1, k, batch]);
    const filter = tf.reshape<tf.Rank.R4>(tf.transpose(a, [2, 0, 1]), [1, k, batch, m]);
    const out = tf.depthwiseConv2d(image, filter, 1, 'valid'); // [n, 1, 1, batch·m]
    return tf.transpose(tf.reshape<tf.Rank.R3>(out, [n, batch, m]), [1, 2, 0]);
  });
}
