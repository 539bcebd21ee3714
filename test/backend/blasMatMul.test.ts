// The wasm backend's matMul through the machine's BLAS against tfjs's own kernel: every shape the
// forward and the analyses use (transposed operands, batches, one side broadcast), the shapes it
// leaves to tfjs, gradients, and how a library is chosen. CI installs OpenBLAS, so the BLAS cases
// run there; where no library loads they are skipped with the reason.
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { blasMatMulActive, installBlasMatMul, planProduct } from '../../src/backend/kernels/blasMatMul.js';
import { contractLast } from '../../src/backend/kernels/contractLast.js';
import { loadNativeBlas, nativeBlasReport } from '../../src/backend/nativeBlas.js';
import { BackendError } from '../../src/errors.js';
import { maxRelDiff, withTfjsMatMul } from '../helpers/blas.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const report = nativeBlasReport();
const skipReason = report.library ? null : report.reason;

/** Largest relative difference between two tensors' values (see maxRelDiff). */
async function relativeDiff(x: tf.Tensor, y: tf.Tensor): Promise<number> {
  return maxRelDiff(await x.data(), await y.data());
}

describe('planProduct: what the BLAS kernel takes', () => {
  it('takes plain, transposed and batched products, with one side a single matrix', () => {
    expect(planProduct([64, 768], [768, 3072], false, false)).toMatchObject({ m: 64, n: 3072, k: 768 });
    expect(planProduct([12, 64, 32], [12, 80, 32], false, true)).toMatchObject({
      m: 64,
      n: 80,
      k: 32,
      batchA: 12,
      batchB: 12,
      outShape: [12, 64, 80],
    });
    expect(planProduct([2, 3, 40, 50], [50, 60], false, false)?.outShape).toEqual([2, 3, 40, 60]);
    expect(planProduct([50, 40], [4, 50, 60], true, false)?.outShape).toEqual([4, 40, 60]);
    expect(planProduct([1, 40, 50], [50, 60], false, false)?.outShape).toEqual([1, 40, 60]);
    expect(planProduct([40, 50], [1, 50, 60], false, false)?.outShape).toEqual([1, 40, 60]);
  });

  it('leaves to tfjs mismatched inner sizes, general broadcasts, tiny and empty products', () => {
    expect(planProduct([64, 768], [767, 30], false, false)).toBeUndefined();
    expect(planProduct([2, 1, 40, 50], [1, 3, 50, 60], false, false)).toBeUndefined();
    expect(planProduct([3, 40, 50], [1, 1, 50, 60], false, false)).toBeUndefined();
    expect(planProduct([4, 5], [5, 6], false, false)).toBeUndefined();
    expect(planProduct([0, 768], [768, 3072], false, false)).toBeUndefined();
    expect(planProduct([768], [768, 3072], false, false)).toBeUndefined();
  });

  it('leaves to tfjs a plain product of a few rows (its kept packing wins), not a transposed one', () => {
    expect(planProduct([4, 768], [768, 3072], false, false)).toBeUndefined();
    expect(planProduct([1, 1, 768], [768, 3072], false, false)).toBeUndefined();
    expect(planProduct([5, 768], [768, 3072], false, false)).toBeDefined();
    expect(planProduct([1, 768], [3072, 768], false, true)).toBeDefined();
    expect(planProduct([12, 1, 64], [12, 200, 64], false, true)).toBeDefined();
  });
});

describe('choosing a BLAS library', () => {
  it("'off' uses none and says so", () => {
    const off = loadNativeBlas('off');
    expect(off.sgemm).toBeUndefined();
    expect(off.report.reason).toContain('LAZYLENS_BLAS=off');
  });

  it('finding none is not an error: the report says what each candidate said', () => {
    const none = loadNativeBlas('', ['/no/such/libopenblas.so.0', '/no/such/libopenblas.so']);
    expect(none.sgemm).toBeUndefined();
    expect(none.report.library).toBeUndefined();
    expect(none.report.reason).toMatch(
      /no BLAS library found \(\/no\/such\/libopenblas\.so\.0: .*; \/no\/such\/libopenblas\.so: /,
    );
  });

  it('a named library that does not load is an error naming it', () => {
    expect(() => loadNativeBlas('/no/such/libblas.so')).toThrow(BackendError);
    expect(() => loadNativeBlas('/no/such/libblas.so')).toThrow(
      /LAZYLENS_BLAS='\/no\/such\/libblas.so'.*cblas_sgemm/,
    );
  });

  it('a named library without cblas_sgemm is an error', () => {
    const libc = process.platform === 'darwin' ? 'libSystem.B.dylib' : 'libc.so.6';
    expect(() => loadNativeBlas(libc)).toThrow(/could not be used/);
  });

  it.skipIf(skipReason !== null)(`the default finds a library (${report.library ?? skipReason})`, () => {
    const before = process.env.OPENBLAS_THREAD_TIMEOUT;
    expect(loadNativeBlas('').report.library).toBe(report.library);
    // OpenBLAS's spin setting is set for the load only, so child processes do not inherit it.
    expect(process.env.OPENBLAS_THREAD_TIMEOUT).toBe(before);
  });
});

describeBackends(
  'matMul through BLAS',
  () => {
    afterEach(() => installBlasMatMul());

    it.skipIf(skipReason !== null)(`is in place on wasm (${skipReason ?? report.library})`, () => {
      expect(blasMatMulActive()).toBe(true);
    });

    // [a shape, b shape, transposeA, transposeB]: the forward's and the analyses' forms, and some
    // the kernel leaves to tfjs (general broadcast, tiny), which must come out the same.
    const cases: [number[], number[], boolean, boolean][] = [
      [[64, 768], [768, 3072], false, false],
      [[8, 16, 96], [96, 200], false, false],
      [[8, 16, 96], [200, 96], false, true],
      [[12, 64, 32], [12, 80, 32], false, true],
      [[12, 64, 32], [12, 64, 48], true, false],
      [[12, 32, 64], [12, 48, 32], true, true],
      [[2, 3, 20, 30], [40, 30], false, true],
      [[30, 20], [4, 30, 40], true, false],
      [[1, 30, 200], [3, 200, 40], false, false],
      [[3, 30, 200], [1, 200, 40], false, false],
      [[2, 1, 20, 30], [1, 3, 30, 40], false, false],
      [[5, 7], [7, 3], false, false],
      [[3, 300], [300, 200], false, false],
    ];
    for (const [aShape, bShape, ta, tb] of cases) {
      it.skipIf(skipReason !== null)(
        `[${aShape.join(', ')}]${ta ? 'ᵀ' : ''} · [${bShape.join(', ')}]${tb ? 'ᵀ' : ''} equals tfjs's kernel`,
        async () => {
          const before = tf.memory().numTensors;
          const a = tf.randomNormal(aShape, 0, 1, 'float32', 1);
          const b = tf.randomNormal(bShape, 0, 1, 'float32', 2);
          const blas = tf.matMul(a, b, ta, tb);
          const own = withTfjsMatMul(() => tf.matMul(a, b, ta, tb));
          expect(blas.shape).toEqual(own.shape);
          expect(await relativeDiff(blas, own)).toBeLessThan(1e-4);
          tf.dispose([a, b, blas, own]);
          expect(tf.memory().numTensors).toBe(before);
        },
      );
    }

    it.skipIf(skipReason !== null)('is differentiable: gradients equal those of tfjs’s kernel', async () => {
      // tfjs's own matMul gradient refuses a batch times a single matrix, so both are batched.
      const a = tf.randomNormal([4, 24, 40], 0, 1, 'float32', 3);
      const b = tf.randomNormal([4, 56, 40], 0, 1, 'float32', 4);
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true)));
      const blas = tf.tidy(() => tf.grads(f)([a, b]));
      const own = withTfjsMatMul(() => tf.tidy(() => tf.grads(f)([a, b])));
      for (let i = 0; i < 2; i++) expect(await relativeDiff(blas[i], own[i])).toBeLessThan(1e-4);
      tf.dispose([a, b, ...blas, ...own]);
    });

    it.skipIf(skipReason !== null)('contractLast takes the matMul, not the convolution', async () => {
      const a = tf.randomNormal<tf.Rank.R3>([12, 64, 64], 0, 1, 'float32', 5);
      const b = tf.randomNormal<tf.Rank.R3>([12, 64, 64], 0, 1, 'float32', 6);
      const run = await tf.profile(() => contractLast(a, b));
      const names = run.kernels.map((k) => k.name);
      expect(names).toContain('BatchMatMul');
      expect(names).not.toContain('DepthwiseConv2dNative');
      tf.dispose([a, b, run.result]);
    });

    it.skipIf(skipReason !== null)(
      'reads the heap after allocating (a result large enough to grow it)',
      async () => {
        // Large enough that the output's allocation may grow the wasm heap (a new buffer).
        const a = tf.randomNormal([256, 512], 0, 1, 'float32', 7);
        const b = tf.randomNormal([512, 8192], 0, 1, 'float32', 8);
        const blas = tf.matMul(a, b);
        const own = withTfjsMatMul(() => tf.matMul(a, b));
        expect(await relativeDiff(blas, own)).toBeLessThan(1e-4);
        tf.dispose([a, b, blas, own]);
      },
    );
  },
  WASM_ONLY,
);
