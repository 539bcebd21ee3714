// FactoredMatrix against dense PyTorch products (scripts/goldens/make_circuits_golden.py), and its identities.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { FactoredMatrix, InvalidArgumentError } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';
import { g, maxDiff, maxEigDiff } from './circuitsGolden.js';

const TOL = 1e-4;

async function withFm<T>(body: (fm: FactoredMatrix, A: tf.Tensor, B: tf.Tensor) => Promise<T>): Promise<T> {
  const [A, B] = await Promise.all([g('fm.A'), g('fm.B')]);
  const fm = new FactoredMatrix(A, B);
  try {
    return await body(fm, A, B);
  } finally {
    fm.dispose();
    tf.dispose([A, B]);
  }
}

describeBackends('FactoredMatrix', () => {
  it('has TL shapes and its AB equals the dense product', async () => {
    await withFm(async (fm) => {
      expect(fm.shape).toEqual([2, 3, 7, 6]);
      expect([fm.ldim, fm.mdim, fm.rdim, fm.ndim]).toEqual([7, 4, 6, 4]);
      expect(fm.toString()).toBe('FactoredMatrix: Shape([2, 3, 7, 6]), Hidden Dim(4)');
      const [ab, gold] = [fm.AB(), await g('fm.AB')];
      expect(await maxDiff(ab, gold)).toBeLessThan(TOL);
      tf.dispose([ab, gold]);
    });
  });

  it('norm and svd match PyTorch without forming AB, and the SVD reconstructs AB', async () => {
    await withFm(async (fm) => {
      const norm = fm.norm();
      const goldNorm = await g('fm.norm');
      expect(await maxDiff(norm, goldNorm)).toBeLessThan(TOL);
      const { U, S, Vh } = await fm.svd();
      expect(U.shape).toEqual([2, 3, 7, 4]);
      expect(Vh.shape).toEqual([2, 3, 6, 4]);
      const goldS = await g('fm.svals');
      expect(await maxDiff(S, goldS)).toBeLessThan(TOL);
      const [rebuilt, ab, utu, eye] = tf.tidy((): tf.Tensor[] => [
        tf.matMul(tf.mul(U, S.expandDims(-2)), Vh, false, true),
        fm.AB(),
        tf.matMul(U, U, true, false),
        tf.broadcastTo(tf.eye(4), [2, 3, 4, 4]),
      ]);
      expect(await maxDiff(rebuilt, ab)).toBeLessThan(TOL);
      expect(await maxDiff(utu, eye)).toBeLessThan(TOL);
      // collapseL/collapseR keep the norm (they drop an orthogonal factor).
      const [cl, cr] = [await fm.collapseL(), await fm.collapseR()];
      expect(cl.shape).toEqual([2, 3, 4, 6]);
      expect(cr.shape).toEqual([2, 3, 7, 4]);
      const [nl, nr] = tf.tidy((): tf.Tensor[] => [
        tf.norm(cl, 'euclidean', [-2, -1]),
        tf.norm(cr, 'euclidean', [-2, -1]),
      ]);
      expect(await maxDiff(nl, goldNorm)).toBeLessThan(TOL);
      expect(await maxDiff(nr, goldNorm)).toBeLessThan(TOL);
      const even = await fm.makeEven();
      const evenAb = even.AB();
      expect(await maxDiff(evenAb, ab)).toBeLessThan(TOL);
      even.dispose();
      tf.dispose([norm, goldNorm, U, S, Vh, goldS, rebuilt, ab, utu, eye, cl, cr, nl, nr, evenAb]);
    });
  });

  it('multiplies with matrices and factored matrices on either side', async () => {
    await withFm(async (fm, A, B) => {
      const C = await g('fm.C');
      const gold = await g('fm.ABC');
      const right = fm.matmul(C);
      expect(right.shape).toEqual([2, 3, 7, 5]);
      const dense = right.AB();
      expect(await maxDiff(dense, gold)).toBeLessThan(TOL);
      // (A)(B C) with B C factored, from the left of a factored matrix.
      const bc = new FactoredMatrix(B, C);
      const viaR = bc.rmatmul(A);
      const viaRDense = viaR.AB();
      expect(await maxDiff(viaRDense, gold)).toBeLessThan(TOL);
      const eye = tf.eye(4);
      const aFm = new FactoredMatrix(A, eye);
      const both = aFm.matmul(bc);
      const bothDense = both.AB();
      expect(await maxDiff(bothDense, gold)).toBeLessThan(TOL);
      const v = tf.ones([6]);
      const mv = fm.matvec(v);
      const mvGold = tf.tidy(() => fm.AB().sum(-1));
      expect(await maxDiff(mv, mvGold)).toBeLessThan(TOL);
      const w = tf.ones([7]);
      const vm = fm.vecmat(w);
      const vmGold = tf.tidy(() => fm.AB().sum(-2));
      expect(await maxDiff(vm, vmGold)).toBeLessThan(TOL);
      const scaled = fm.mul(2);
      const [s1, s2] = tf.tidy((): tf.Tensor[] => [scaled.AB(), tf.mul(fm.AB(), 2)]);
      expect(await maxDiff(s1, s2)).toBeLessThan(TOL);
      tf.dispose([eye, C, gold, dense, viaRDense, bothDense, v, mv, mvGold, w, vm, vmGold, s1, s2]);
      for (const m of [right, bc, viaR, aFm, both, scaled]) m.dispose();
    });
  });

  it('transposes, indexes leading dims, unsqueezes and takes corners', async () => {
    await withFm(async (fm) => {
      const t = fm.T();
      expect(t.shape).toEqual([2, 3, 6, 7]);
      const [tAb, abT] = tf.tidy((): tf.Tensor[] => [t.AB(), tf.transpose(fm.AB(), [0, 1, 3, 2])]);
      expect(await maxDiff(tAb, abT)).toBeLessThan(TOL);
      const one = fm.index(1, -1);
      expect(one.shape).toEqual([7, 6]);
      const [oneAb, gold] = tf.tidy((): tf.Tensor[] => [
        one.AB(),
        fm.AB().slice([1, 2, 0, 0], [1, 1, -1, -1]).reshape([7, 6]),
      ]);
      expect(await maxDiff(oneAb, gold)).toBeLessThan(TOL);
      const range = fm.index(null, [1, 3]);
      expect(range.shape).toEqual([2, 2, 7, 6]);
      const u = fm.unsqueeze(1);
      expect(u.shape).toEqual([2, 1, 3, 7, 6]);
      const corner = fm.getCorner(2);
      expect(corner.shape).toEqual([2, 2, 2, 2]);
      const goldCorner = tf.tidy(() => fm.AB().slice([0, 0, 0, 0], [2, 2, 2, 2]));
      expect(await maxDiff(corner, goldCorner)).toBeLessThan(TOL);
      tf.dispose([tAb, abT, oneAb, gold, corner, goldCorner]);
      for (const m of [t, one, range, u]) m.dispose();
    });
  });

  it('broadcasts leading dims of the factors', async () => {
    const A = tf.randomNormal([5, 3], 0, 1, 'float32', 1);
    const B = tf.randomNormal([2, 4, 3, 6], 0, 1, 'float32', 2);
    const fm = new FactoredMatrix(A, B);
    expect(fm.shape).toEqual([2, 4, 5, 6]);
    const [ab, gold] = tf.tidy((): tf.Tensor[] => [fm.AB(), tf.matMul(tf.broadcastTo(A, [2, 4, 5, 3]), B)]);
    expect(await maxDiff(ab, gold)).toBeLessThan(TOL);
    tf.dispose([A, B, ab, gold]);
    fm.dispose();
  });

  it('eigenvalues of the product come from the small BA and match torch.linalg.eig', async () => {
    const [A, B, re, im] = await Promise.all([g('sq.A'), g('sq.B'), g('sq.eig.real'), g('sq.eig.imag')]);
    const fm = new FactoredMatrix(A, B);
    const e = await fm.eigenvalues();
    expect(e.real.shape).toEqual([3]);
    expect(await maxEigDiff(e.real, e.imag, re, im)).toBeLessThan(TOL);
    // Complex eigenvalues of a real matrix come in conjugate pairs: the imaginary parts sum to 0.
    const sum = e.imag.sum();
    const imSum = (await sum.data())[0];
    sum.dispose();
    expect(Math.abs(imSum)).toBeLessThan(TOL);
    tf.dispose([A, B, re, im, e.real, e.imag]);
    fm.dispose();
  });

  it('rejects factors that do not chain, non-square eigenvalues, bad indices and use after dispose', async () => {
    const a = tf.zeros([4, 3]);
    const b = tf.zeros([2, 5]);
    expect(() => new FactoredMatrix(a, b)).toThrow(InvalidArgumentError);
    expect(() => new FactoredMatrix(a, b)).toThrow(/given A \[4, 3\] and B \[2, 5\]/);
    const [x, y, c, m1, m2, v] = [
      tf.zeros([2, 4, 3]),
      tf.zeros([3, 3, 5]),
      tf.zeros([3, 5]),
      tf.zeros([4, 2]),
      tf.zeros([2, 3]),
      tf.zeros([5]),
    ];
    expect(() => new FactoredMatrix(x, y)).toThrow(/broadcast/);
    const fm = new FactoredMatrix(a, c);
    await expect(fm.eigenvalues()).rejects.toThrow(/expected a square one/);
    expect(() => fm.BA()).toThrow(InvalidArgumentError);
    expect(() => fm.matmul(m1)).toThrow(/rows to be 5/);
    expect(() => fm.rmatmul(m2)).toThrow(/columns to be 4/);
    expect(() => fm.matmul(v)).toThrow(/matvec/);
    expect(() => fm.index(0)).toThrow(/at most 0/);
    expect(() => fm.getCorner(0)).toThrow(/positive integer/);
    fm.dispose();
    expect(() => fm.AB()).toThrow(/disposed/);
    tf.dispose([a, b, c, x, y, m1, m2, v]);
  });
});
