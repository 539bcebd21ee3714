// The host float64 linear algebra behind FactoredMatrix: QR, Jacobi SVD and Hessenberg-QR eigenvalues.
import { describe, expect, it } from 'vitest';
import { hostEigenvalues } from '../../src/weights/hostEigenvalues.js';
import { hostMatMul, hostQr, hostTranspose, type HostMatrix } from '../../src/weights/hostQr.js';
import { jacobiSvd } from '../../src/weights/jacobiSvd.js';

let seed = 12345;
const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const random = (rows: number, cols: number): HostMatrix => ({
  rows,
  cols,
  data: Float64Array.from({ length: rows * cols }, rnd),
});
const mat = (rows: number[][]): HostMatrix => ({
  rows: rows.length,
  cols: rows[0].length,
  data: Float64Array.from(rows.flat()),
});
const maxErr = (a: HostMatrix, b: HostMatrix): number =>
  Math.max(...a.data.map((x, i) => Math.abs(x - b.data[i])));
const identity = (n: number): HostMatrix =>
  mat(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (__, j) => (i === j ? 1 : 0))));

describe('host linear algebra', () => {
  it('QR reconstructs tall, wide and rank-deficient matrices with orthonormal Q', () => {
    const low = hostMatMul(random(9, 2), random(2, 5));
    for (const a of [random(9, 4), random(3, 6), low]) {
      const { q, r } = hostQr(a);
      expect(maxErr(hostMatMul(q, r), a)).toBeLessThan(1e-12);
      expect(maxErr(hostMatMul(hostTranspose(q), q), identity(q.cols))).toBeLessThan(1e-12);
      r.data.forEach((v, i) => {
        if (Math.floor(i / r.cols) > i % r.cols) expect(v).toBe(0);
      });
    }
  });

  it('Jacobi SVD: descending singular values, orthonormal factors, exact zeros for low rank', () => {
    for (const a of [
      random(8, 5),
      random(5, 8),
      hostMatMul(random(7, 2), random(2, 6)),
      mat([
        [0, 0],
        [0, 0],
      ]),
    ]) {
      const { u, s, v } = jacobiSvd(a);
      const r = s.length;
      expect(r).toBe(Math.min(a.rows, a.cols));
      for (let i = 1; i < r; i++) expect(s[i]).toBeLessThanOrEqual(s[i - 1]);
      const us = { rows: u.rows, cols: r, data: u.data.map((x, i) => x * s[i % r]) };
      expect(maxErr(hostMatMul(us, hostTranspose(v)), a)).toBeLessThan(1e-12);
      expect(maxErr(hostMatMul(hostTranspose(u), u), identity(r))).toBeLessThan(1e-12);
      expect(maxErr(hostMatMul(hostTranspose(v), v), identity(r))).toBeLessThan(1e-12);
    }
    expect(
      Array.from(
        jacobiSvd(
          mat([
            [3, 0],
            [0, -4],
          ]),
        ).s,
      ),
    ).toEqual([4, 3]);
  });

  it('eigenvalues: rotations, symmetric, triangular, repeated and random matrices', () => {
    const rot = hostEigenvalues(
      mat([
        [0, -1],
        [1, 0],
      ]),
    );
    expect(Math.abs(rot.real[0]) + Math.abs(rot.real[1])).toBeLessThan(1e-14);
    expect([...rot.imag].map((x) => Math.round(x))).toEqual([1, -1]);
    const sym = hostEigenvalues(
      mat([
        [2, 0, 0],
        [0, 3, 4],
        [0, 4, 9],
      ]),
    );
    expect([...sym.real].map((x) => +x.toFixed(12))).toEqual([11, 2, 1]);
    const tri = hostEigenvalues(
      mat([
        [1, 5, 7],
        [0, -3, 2],
        [0, 0, 2],
      ]),
    );
    expect([...tri.real].map((x) => +x.toFixed(12))).toEqual([-3, 2, 1]);
    const jordan = hostEigenvalues(
      mat([
        [2, 1],
        [0, 2],
      ]),
    );
    expect([...jordan.real]).toEqual([2, 2]);
    expect([
      ...hostEigenvalues(
        mat([
          [0, 0],
          [0, 0],
        ]),
      ).real,
    ]).toEqual([0, 0]);
    // A random 40 × 40 matrix: Σλ = tr(A) and Σλ² = tr(A²), imaginary parts in conjugate pairs.
    const a = random(40, 40);
    const e = hostEigenvalues(a);
    const a2 = hostMatMul(a, a);
    let [tr, tr2, sum, sum2, im] = [0, 0, 0, 0, 0];
    for (let i = 0; i < 40; i++) {
      tr += a.data[i * 41];
      tr2 += a2.data[i * 41];
      sum += e.real[i];
      sum2 += e.real[i] ** 2 - e.imag[i] ** 2;
      im += e.imag[i];
    }
    expect(Math.abs(tr - sum)).toBeLessThan(1e-10);
    expect(Math.abs(tr2 - sum2)).toBeLessThan(1e-9);
    expect(Math.abs(im)).toBeLessThan(1e-10);
    expect(() => hostEigenvalues(random(2, 3))).toThrow(/given a 2×3 matrix, expected a square one/);
  });
});
