/**
 * Eigenvalues of a small real square matrix on the host, in float64: Householder reduction to
 * upper Hessenberg form, then single-shift QR with complex Wilkinson shifts (complex arithmetic, so
 * complex-conjugate pairs converge without the double-shift bookkeeping). Meant for the
 * inner-dimension-sized `B @ A` of a factored matrix.
 */
import { LazylensError } from '../errors.js';
import type { HostMatrix } from './hostQr.js';

/** Eigenvalues as parallel real and imaginary parts. */
export interface HostEigenvalues {
  real: Float64Array;
  imag: Float64Array;
}

const MAX_ITERATIONS_PER_EIGENVALUE = 60;

/**
 * The eigenvalues of the square matrix `a`, sorted by descending modulus (ties: larger real part,
 * then larger imaginary part first), so results are comparable across implementations whose
 * order is unspecified (LAPACK's `geev` is one).
 */
export function hostEigenvalues(a: HostMatrix): HostEigenvalues {
  if (a.rows !== a.cols) {
    throw new LazylensError(`Eigenvalues: given a ${a.rows}×${a.cols} matrix, expected a square one.`);
  }
  const n = a.rows;
  const re = hessenberg(a);
  const im = new Float64Array(n * n);
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  const eps = 2 ** -52;
  let hi = n - 1;
  let its = 0;
  let total = 0;
  while (hi >= 0) {
    // The active block is [lo, hi]: find the last negligible subdiagonal entry.
    let lo = hi;
    while (lo > 0) {
      const sub = Math.abs(re[lo * n + lo - 1]) + Math.abs(im[lo * n + lo - 1]);
      const diag =
        Math.abs(re[(lo - 1) * n + lo - 1]) +
        Math.abs(im[(lo - 1) * n + lo - 1]) +
        Math.abs(re[lo * n + lo]) +
        Math.abs(im[lo * n + lo]);
      if (sub <= eps * diag || sub < Number.MIN_VALUE * 1e10) {
        re[lo * n + lo - 1] = 0;
        im[lo * n + lo - 1] = 0;
        break;
      }
      lo--;
    }
    if (lo === hi) {
      outRe[hi] = re[hi * n + hi];
      outIm[hi] = im[hi * n + hi];
      hi--;
      its = 0;
      continue;
    }
    if (++total > MAX_ITERATIONS_PER_EIGENVALUE * n) {
      throw new LazylensError(`Eigenvalues: the QR iteration did not converge on a ${n}×${n} matrix.`);
    }
    its++;
    const [muRe, muIm] = its % 11 === 0 ? exceptionalShift(re, im, n, hi) : wilkinsonShift(re, im, n, hi);
    qrStep(re, im, n, lo, hi, muRe, muIm);
  }
  return sortEigenvalues(outRe, outIm);
}

/** Householder reduction of `a` to upper Hessenberg form (same eigenvalues), row-major n×n. */
function hessenberg(a: HostMatrix): Float64Array {
  const n = a.rows;
  const h = Float64Array.from(a.data);
  for (let k = 0; k < n - 2; k++) {
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += h[i * n + k] * h[i * n + k];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const x0 = h[(k + 1) * n + k];
    const alpha = x0 >= 0 ? -norm : norm;
    const v = new Float64Array(n - k - 1);
    for (let i = k + 1; i < n; i++) v[i - k - 1] = h[i * n + k];
    v[0] -= alpha;
    let vNorm = 0;
    for (const e of v) vNorm += e * e;
    vNorm = Math.sqrt(vNorm);
    if (vNorm === 0) continue;
    for (let i = 0; i < v.length; i++) v[i] /= vNorm;
    // H ← P H P with P = I - 2vvᵀ acting on rows/columns k+1..n-1.
    for (let c = 0; c < n; c++) {
      let dot = 0;
      for (let i = k + 1; i < n; i++) dot += v[i - k - 1] * h[i * n + c];
      dot *= 2;
      for (let i = k + 1; i < n; i++) h[i * n + c] -= dot * v[i - k - 1];
    }
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let i = k + 1; i < n; i++) dot += h[r * n + i] * v[i - k - 1];
      dot *= 2;
      for (let i = k + 1; i < n; i++) h[r * n + i] -= dot * v[i - k - 1];
    }
  }
  return h;
}

/** The eigenvalue of the trailing 2×2 block closer to its last diagonal entry. */
function wilkinsonShift(re: Float64Array, im: Float64Array, n: number, hi: number): [number, number] {
  const at = (i: number, j: number): [number, number] => [re[i * n + j], im[i * n + j]];
  const [aR, aI] = at(hi - 1, hi - 1);
  const [bR, bI] = at(hi - 1, hi);
  const [cR, cI] = at(hi, hi - 1);
  const [dR, dI] = at(hi, hi);
  // λ = (a+d)/2 ± sqrt(((a-d)/2)² + bc)
  const hR = (aR - dR) / 2;
  const hI = (aI - dI) / 2;
  const discR = hR * hR - hI * hI + (bR * cR - bI * cI);
  const discI = 2 * hR * hI + (bR * cI + bI * cR);
  const [sR, sI] = complexSqrt(discR, discI);
  const mR = (aR + dR) / 2;
  const mI = (aI + dI) / 2;
  const l1: [number, number] = [mR + sR, mI + sI];
  const l2: [number, number] = [mR - sR, mI - sI];
  const dist = (l: [number, number]): number => Math.hypot(l[0] - dR, l[1] - dI);
  return dist(l1) <= dist(l2) ? l1 : l2;
}

/** An ad-hoc shift that breaks the cycles a Wilkinson shift can fall into. */
function exceptionalShift(re: Float64Array, im: Float64Array, n: number, hi: number): [number, number] {
  const sub = Math.abs(re[hi * n + hi - 1]) + Math.abs(im[hi * n + hi - 1]);
  return [re[hi * n + hi] + 0.75 * sub, im[hi * n + hi] + 0.4375 * sub];
}

function complexSqrt(x: number, y: number): [number, number] {
  const r = Math.hypot(x, y);
  if (r === 0) return [0, 0];
  const a = Math.sqrt((r + Math.abs(x)) / 2);
  if (x >= 0) return [a, y / (2 * a)];
  return [Math.abs(y) / (2 * a), y >= 0 ? a : -a];
}

/**
 * One shifted QR step on the block [lo, hi]: H - μI = QR by Givens rotations, then H ← RQ + μI.
 * Each rotation G = [[c, s], [-s̄, c]] (c real) zeroes one subdiagonal entry.
 */
function qrStep(
  re: Float64Array,
  im: Float64Array,
  n: number,
  lo: number,
  hi: number,
  muRe: number,
  muIm: number,
): void {
  for (let k = lo; k <= hi; k++) {
    re[k * n + k] -= muRe;
    im[k * n + k] -= muIm;
  }
  const rot: [number, number, number][] = [];
  for (let k = lo; k < hi; k++) {
    const aR = re[k * n + k];
    const aI = im[k * n + k];
    const bR = re[(k + 1) * n + k];
    const bI = im[(k + 1) * n + k];
    const absA = Math.hypot(aR, aI);
    const norm = Math.hypot(absA, bR, bI);
    let c: number;
    let sR: number;
    let sI: number;
    if (norm === 0) {
      c = 1;
      sR = 0;
      sI = 0;
    } else if (absA === 0) {
      c = 0;
      sR = 1;
      sI = 0;
    } else {
      c = absA / norm;
      // s = (a/|a|)·conj(b)/norm
      const uR = aR / absA;
      const uI = aI / absA;
      sR = (uR * bR + uI * bI) / norm;
      sI = (uI * bR - uR * bI) / norm;
    }
    rot.push([c, sR, sI]);
    for (let j = k; j <= hi; j++) {
      const xR = re[k * n + j];
      const xI = im[k * n + j];
      const yR = re[(k + 1) * n + j];
      const yI = im[(k + 1) * n + j];
      // row k: c·x + s·y; row k+1: -conj(s)·x + c·y
      re[k * n + j] = c * xR + (sR * yR - sI * yI);
      im[k * n + j] = c * xI + (sR * yI + sI * yR);
      re[(k + 1) * n + j] = -(sR * xR + sI * xI) + c * yR;
      im[(k + 1) * n + j] = -(sR * xI - sI * xR) + c * yI;
    }
  }
  for (let k = lo; k < hi; k++) {
    const [c, sR, sI] = rot[k - lo];
    for (let i = lo; i <= Math.min(k + 2, hi); i++) {
      const xR = re[i * n + k];
      const xI = im[i * n + k];
      const yR = re[i * n + k + 1];
      const yI = im[i * n + k + 1];
      // multiply by Gᴴ on the right: col k: c·x + conj(s)·y; col k+1: -s·x + c·y
      re[i * n + k] = c * xR + (sR * yR + sI * yI);
      im[i * n + k] = c * xI + (sR * yI - sI * yR);
      re[i * n + k + 1] = -(sR * xR - sI * xI) + c * yR;
      im[i * n + k + 1] = -(sR * xI + sI * xR) + c * yI;
    }
  }
  for (let k = lo; k <= hi; k++) {
    re[k * n + k] += muRe;
    im[k * n + k] += muIm;
  }
}

function sortEigenvalues(re: Float64Array, im: Float64Array): HostEigenvalues {
  const idx = Array.from(re, (_, i) => i);
  const mod = (i: number): number => Math.hypot(re[i], im[i]);
  idx.sort((x, y) => mod(y) - mod(x) || re[y] - re[x] || im[y] - im[x]);
  return { real: Float64Array.from(idx, (i) => re[i]), imag: Float64Array.from(idx, (i) => im[i]) };
}
