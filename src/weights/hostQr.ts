/**
 * Householder QR of a small dense matrix on the host, in float64. Used by the factored SVD: the
 * product's orthogonal factors come from the QR of each factor, so only a small core needs an SVD.
 */

/** A row-major float64 matrix on the host. */
export interface HostMatrix {
  readonly rows: number;
  readonly cols: number;
  /** `rows * cols` values, row-major. */
  readonly data: Float64Array;
}

/** Reduced QR: `q` [rows, p] with orthonormal columns, `r` [p, cols] upper triangular, p = min(rows, cols). */
export interface HostQr {
  q: HostMatrix;
  r: HostMatrix;
}

/**
 * Reduced QR by Householder reflections (stable for rank-deficient input: Q stays orthonormal and
 * R then has zeros on its diagonal).
 */
export function hostQr(a: HostMatrix): HostQr {
  const m = a.rows;
  const n = a.cols;
  const p = Math.min(m, n);
  const r = Float64Array.from(a.data);
  // Reflector j acts on rows j..m-1; its unit vector is kept for building Q afterwards.
  const reflectors: (Float64Array | null)[] = [];
  for (let j = 0; j < p; j++) {
    let norm = 0;
    for (let i = j; i < m; i++) norm += r[i * n + j] * r[i * n + j];
    norm = Math.sqrt(norm);
    if (norm === 0) {
      reflectors.push(null);
      continue;
    }
    const x0 = r[j * n + j];
    // Reflect onto -sign(x0)·‖x‖·e_j so that v = x - alpha·e_j does not cancel.
    const alpha = x0 >= 0 ? -norm : norm;
    const v = new Float64Array(m - j);
    for (let i = j; i < m; i++) v[i - j] = r[i * n + j];
    v[0] -= alpha;
    let vNorm = 0;
    for (const e of v) vNorm += e * e;
    vNorm = Math.sqrt(vNorm);
    if (vNorm === 0) {
      reflectors.push(null);
      continue;
    }
    for (let i = 0; i < v.length; i++) v[i] /= vNorm;
    reflectors.push(v);
    for (let c = j; c < n; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j] * r[i * n + c];
      dot *= 2;
      for (let i = j; i < m; i++) r[i * n + c] -= dot * v[i - j];
    }
  }
  // Q = H_0 H_1 … H_{p-1} applied to the first p columns of the identity, last reflector first.
  const q = new Float64Array(m * p);
  for (let i = 0; i < p; i++) q[i * p + i] = 1;
  for (let j = p - 1; j >= 0; j--) {
    const v = reflectors[j];
    if (!v) continue;
    for (let c = 0; c < p; c++) {
      let dot = 0;
      for (let i = j; i < m; i++) dot += v[i - j] * q[i * p + c];
      dot *= 2;
      for (let i = j; i < m; i++) q[i * p + c] -= dot * v[i - j];
    }
  }
  const rOut = new Float64Array(p * n);
  for (let i = 0; i < p; i++) for (let c = i; c < n; c++) rOut[i * n + c] = r[i * n + c];
  return { q: { rows: m, cols: p, data: q }, r: { rows: p, cols: n, data: rOut } };
}

/** `a @ b` on the host. */
export function hostMatMul(a: HostMatrix, b: HostMatrix): HostMatrix {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k];
      if (aik === 0) continue;
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j] += aik * b.data[k * b.cols + j];
    }
  }
  return { rows: a.rows, cols: b.cols, data: out };
}

/** The transpose of `a` on the host. */
export function hostTranspose(a: HostMatrix): HostMatrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++)
    for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j];
  return { rows: a.cols, cols: a.rows, data: out };
}
