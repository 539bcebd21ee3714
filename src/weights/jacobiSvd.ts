/**
 * Singular value decomposition of a small host matrix by one-sided (Hestenes) Jacobi rotations in
 * float64: accurate to working precision even for tiny singular values, and simple enough to
 * verify. Meant for the inner-dimension-sized core of a factored matrix (tens of rows).
 */
import { LazylensError } from '../errors.js';
import { hostTranspose, type HostMatrix } from './hostQr.js';

/** `a = u · diag(s) · vᵀ`: `u` [rows, r], `s` [r] descending, `v` [cols, r], r = min(rows, cols). */
export interface HostSvd {
  u: HostMatrix;
  s: Float64Array;
  v: HostMatrix;
}

const MAX_SWEEPS = 80;

/**
 * The thin SVD of `a`. Columns of `u` for zero singular values are completed to an orthonormal
 * set, so `u` and `v` always have orthonormal columns (as LAPACK's).
 */
export function jacobiSvd(a: HostMatrix): HostSvd {
  if (a.rows < a.cols) {
    const t = jacobiSvd(hostTranspose(a));
    return { u: t.v, s: t.s, v: t.u };
  }
  const m = a.rows;
  const n = a.cols;
  const w = Float64Array.from(a.data); // columns are rotated until mutually orthogonal
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const eps = 2 ** -52;
  let converged = n < 2;
  for (let sweep = 0; sweep < MAX_SWEEPS && !converged; sweep++) {
    converged = true;
    for (let i = 0; i < n - 1; i++) {
      for (let j = i + 1; j < n; j++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let k = 0; k < m; k++) {
          const x = w[k * n + i];
          const y = w[k * n + j];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        converged = false;
        // The rotation that makes columns i and j orthogonal (the smaller of the two angles).
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let k = 0; k < m; k++) {
          const x = w[k * n + i];
          const y = w[k * n + j];
          w[k * n + i] = c * x - s * y;
          w[k * n + j] = s * x + c * y;
        }
        for (let k = 0; k < n; k++) {
          const x = v[k * n + i];
          const y = v[k * n + j];
          v[k * n + i] = c * x - s * y;
          v[k * n + j] = s * x + c * y;
        }
      }
    }
  }
  if (!converged) throw new LazylensError(`Jacobi SVD did not converge in ${MAX_SWEEPS} sweeps.`);
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < m; k++) s += w[k * n + j] * w[k * n + j];
    norms[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => norms[y] - norms[x]);
  const sOut = new Float64Array(n);
  const uOut = new Float64Array(m * n);
  const vOut = new Float64Array(n * n);
  const tiny = (norms[order[0]] || 0) * eps * Math.max(m, n);
  const filled: number[] = [];
  order.forEach((j, col) => {
    sOut[col] = norms[j];
    for (let k = 0; k < n; k++) vOut[k * n + col] = v[k * n + j];
    if (norms[j] > tiny) {
      for (let k = 0; k < m; k++) uOut[k * n + col] = w[k * n + j] / norms[j];
      filled.push(col);
    }
  });
  completeColumns(uOut, m, n, filled);
  return { u: { rows: m, cols: n, data: uOut }, s: sOut, v: { rows: n, cols: n, data: vOut } };
}

/** Fills the columns of `u` not in `filled` with unit vectors orthogonal to all others (Gram–Schmidt on e_k). */
function completeColumns(u: Float64Array, m: number, n: number, filled: number[]): void {
  const done = new Set(filled);
  let candidate = 0;
  for (let col = 0; col < n; col++) {
    if (done.has(col)) continue;
    for (; candidate < m; candidate++) {
      const x = new Float64Array(m);
      x[candidate] = 1;
      // Twice, for orthogonality to working precision.
      for (let pass = 0; pass < 2; pass++) {
        for (const c of done) {
          let dot = 0;
          for (let k = 0; k < m; k++) dot += u[k * n + c] * x[k];
          for (let k = 0; k < m; k++) x[k] -= dot * u[k * n + c];
        }
      }
      let norm = 0;
      for (const e of x) norm += e * e;
      norm = Math.sqrt(norm);
      if (norm > 1e-8) {
        for (let k = 0; k < m; k++) u[k * n + col] = x[k] / norm;
        done.add(col);
        candidate++;
        break;
      }
    }
  }
}
