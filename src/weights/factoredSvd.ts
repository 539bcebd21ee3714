/**
 * The SVD of a product `A @ B` from its factors, on the host in float64, batched over leading
 * dims. As TransformerLens's `FactoredMatrix.svd`, the product itself is never formed: with
 * A = Qa·Ra and Bᵀ = Qb·Rb (thin QR), A·B = Qa·(Ra·Rbᵀ)·Qbᵀ, so only the small core Ra·Rbᵀ
 * (at most inner × inner) needs an SVD. tfjs has no SVD op, hence the host.
 */
import * as tf from '@tensorflow/tfjs';
import { hostMatMul, hostQr, hostTranspose, type HostMatrix } from './hostQr.js';
import { jacobiSvd } from './jacobiSvd.js';
import { sizeOf } from './shapes.js';

/** `A @ B = U · diag(S) · Vhᵀ` (TransformerLens's convention: `Vh` is V, not its transpose). */
export interface FactoredSvd {
  /** [..., ldim, r] orthonormal columns. */
  U: tf.Tensor;
  /** [..., r] singular values, descending. */
  S: tf.Tensor;
  /** [..., rdim, r] orthonormal columns. */
  Vh: tf.Tensor;
}

/** Reads batch element `b` of a row-major [..., rows, cols] buffer as a float64 host matrix. */
export function hostSlice(data: ArrayLike<number>, b: number, rows: number, cols: number): HostMatrix {
  const size = rows * cols;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = data[b * size + i];
  return { rows, cols, data: out };
}

/**
 * SVD of `a @ b` for `a` [..., ldim, mdim] and `b` [..., mdim, rdim] with equal leading dims.
 * r = min(ldim, mdim, rdim). The caller owns the returned tensors.
 */
export async function factoredSvd(a: tf.Tensor, b: tf.Tensor): Promise<FactoredSvd> {
  const lead = a.shape.slice(0, -2);
  const [ldim, mdim] = a.shape.slice(-2);
  const rdim = b.shape[b.rank - 1];
  const r = Math.min(ldim, mdim, rdim);
  const n = sizeOf(lead);
  const [aData, bData] = await Promise.all([a.data(), b.data()]);
  const u = new Float32Array(n * ldim * r);
  const s = new Float32Array(n * r);
  const v = new Float32Array(n * rdim * r);
  for (let i = 0; i < n; i++) {
    const qa = hostQr(hostSlice(aData, i, ldim, mdim));
    const qb = hostQr(hostTranspose(hostSlice(bData, i, mdim, rdim)));
    const core = jacobiSvd(hostMatMul(qa.r, hostTranspose(qb.r)));
    const uFull = hostMatMul(qa.q, core.u);
    const vFull = hostMatMul(qb.q, core.v);
    // The core is min(ldim,mdim) × min(rdim,mdim): its thin SVD has exactly r columns.
    u.set(Float32Array.from(uFull.data), i * ldim * r);
    v.set(Float32Array.from(vFull.data), i * rdim * r);
    s.set(Float32Array.from(core.s), i * r);
  }
  return {
    U: tf.tensor(u, [...lead, ldim, r]),
    S: tf.tensor(s, [...lead, r]),
    Vh: tf.tensor(v, [...lead, rdim, r]),
  };
}
