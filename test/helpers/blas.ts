// Comparing wasm's matMul through a BLAS library with tfjs's own kernel (src/backend/kernels/blasMatMul.ts).
import {
  blasMatMulActive,
  installBlasMatMul,
  uninstallBlasMatMul,
} from '../../src/backend/kernels/blasMatMul.js';

/** Runs `f` on tfjs's own wasm matMul kernel, putting the BLAS one back afterwards if it was in place. */
export function withTfjsMatMul<T>(f: () => T): T {
  const was = blasMatMulActive();
  uninstallBlasMatMul();
  try {
    return f();
  } finally {
    if (was) installBlasMatMul();
  }
}

/** Largest |a − b| / (1 + |b|) over entries: float32 rounding of differently ordered sums. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}
