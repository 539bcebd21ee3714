/**
 * `tf.matMul` that keeps every tensor one kernel binds under the planning limit
 * ({@link planningLimit}) by splitting along free axes: the batch, the rows of `a`, the columns of
 * `b`. The contracted axis is never split, so each output element is the same dot product as in one
 * product, in the same order: the pieces are exact, not approximations.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceBindingLimit, planningLimit } from './bindingLimit.js';
import { ResourceLimitError } from './errors.js';

const BYTES = 4; // float32 and int32: the dtypes matMul sees here

const bytes = (...dims: number[]): number => dims.reduce((p, d) => p * d, BYTES);

/** How many of `total` items fit when each costs `each` bytes, at least 1. */
function fit(limit: number, each: number, total: number): number {
  return Math.max(1, Math.min(total, Math.floor(limit / each)));
}

function tooBig(what: string, shape: readonly number[], limit: number): never {
  throw new ResourceLimitError(
    `matMul: ${what} of shape [${shape.join(', ')}] is ${bytes(...shape)} bytes even after splitting; expected at most ${limit} bytes per binding (the backend's limit, or LAZYLENS_MAX_BINDING_BYTES).`,
  );
}

/** Pieces of `n` items, `size` at a time: [start, count] pairs. */
function pieces(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(size, n - s)]);
  return out;
}

/** [M, K] × [K, N] with pieces of at most `limit` bytes per operand and per result. */
function split2d(a: tf.Tensor2D, b: tf.Tensor2D, limit: number): tf.Tensor2D {
  const [M, K] = a.shape;
  const N = b.shape[1];
  if (bytes(K) > limit) tooBig('one row of a', [1, K], limit);
  const n = fit(limit, bytes(K), N); // columns of b per piece
  const m = fit(limit, bytes(Math.max(K, n)), M); // rows of a per piece: the row slice and the result
  const cols = pieces(N, n);
  const rows = pieces(M, m).map(([r, mr]) => {
    const aRows = mr === M ? a : tf.slice(a, [r, 0], [mr, K]);
    const parts = cols.map(([c, nc]) => tf.matMul(aRows, nc === N ? b : tf.slice(b, [0, c], [K, nc])));
    return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
  });
  return (rows.length === 1 ? rows[0] : tf.concat(rows, 0)) as tf.Tensor2D;
}

/**
 * `tf.matMul(a, b)` for a [M, K] or [B, M, K] and b [K, N] or [B, K, N] (a 2-D `b` is shared by the
 * batch), split so that no piece binds more than the planning limit. Call inside `tf.tidy`.
 * @throws ResourceLimitError when one row of `a` or one column of `b` alone exceeds the limit, or
 *   the assembled result would exceed what the device can bind.
 */
export function chunkedMatMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const limit = planningLimit();
  const K = a.shape[a.rank - 1];
  const M = a.shape[a.rank - 2];
  const N = b.shape[b.rank - 1];
  const B = a.rank === 3 ? a.shape[0] : 1;
  const outShape = a.rank === 3 ? [B, M, N] : [M, N];
  if (bytes(...a.shape) <= limit && bytes(...b.shape) <= limit && bytes(...outShape) <= limit) {
    // A shared b multiplies the batch's rows as one matrix: wasm runs only an unbatched matMul
    // in XNNPACK (a batched one is a scalar loop there, about 10× slower).
    if (a.rank === 3 && b.rank === 2) return tf.reshape(tf.matMul(tf.reshape(a, [B * M, K]), b), outShape);
    return tf.matMul(a, b);
  }
  if (bytes(...outShape) > deviceBindingLimit()) {
    throw new ResourceLimitError(
      `matMul: the result [${outShape.join(', ')}] is ${bytes(...outShape)} bytes; expected at most the ${deviceBindingLimit()} bytes this backend binds per tensor. Split the batch or the positions.`,
    );
  }
  if (a.rank === 2 && b.rank === 2) return split2d(a as tf.Tensor2D, b as tf.Tensor2D, limit);
  if (b.rank === 2) {
    // A shared b: the batch and the rows of a are one free axis.
    const flat = split2d(tf.reshape(a, [B * M, K]), b as tf.Tensor2D, limit);
    return tf.reshape(flat, outShape);
  }
  // Batched on both sides: whole batch entries per piece where they fit, else one entry at a time.
  const per = Math.max(bytes(M, K), bytes(K, N), bytes(M, N));
  const bb = fit(limit, per, B);
  const parts = pieces(B, bb).map(([s, nb]) => {
    const aS = tf.slice(a, [s, 0, 0], [nb, M, K]);
    const bS = tf.slice(b, [s, 0, 0], [nb, K, N]);
    if (per <= limit) return tf.matMul(aS, bS);
    const r = split2d(tf.reshape(aS, [M, K]), tf.reshape(bS, [K, N]), limit);
    return tf.reshape(r, [1, M, N]);
  });
  return parts.length === 1 ? parts[0] : tf.concat(parts, 0);
}
