/**
 * The machine's own BLAS (OpenBLAS, Apple's Accelerate), reached through `koffi`'s foreign-function
 * calls, for the wasm backend's matrix products.
 *
 * A transformer's forward on the CPU is its dense products. tfjs-backend-wasm runs them in
 * XNNPACK with 128-bit SIMD and no fused multiply-add (25–38 GFLOP/s on this project's 2-core
 * build machine, GPT-2-small shapes); OpenBLAS's AVX2 kernels run the same products at
 * 95–100 GFLOP/s there, and it is what PyTorch itself calls on such a machine. `koffi` ships
 * prebuilt binaries (no install script) and calls `cblas_sgemm` synchronously, handing it views
 * of the wasm heap itself, so nothing is copied in or out.
 *
 * `LAZYLENS_BLAS` chooses: unset or empty, the first library found (none: wasm's own kernels,
 * reason kept for {@link nativeBlasReport}); `off`, wasm's own kernels; anything else, the path or
 * file name of a library exporting `cblas_sgemm`, which must load.
 */
import { createRequire } from 'node:module';
import { BackendError } from '../errors.js';
import { firstLine } from '../util/firstLine.js';

/** CBLAS's row-major order and transpose flags. */
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/**
 * Row-major `C = alpha · A · B + beta · C` (either operand transposed; alpha 1 and beta 0 unless
 * given), on typed-array views the library reads in place.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  c: Float32Array,
  ldc: number,
  alpha?: number,
  beta?: number,
) => void;

/** Which matrix-product library the wasm backend uses. */
export interface NativeBlasReport {
  /** The library loaded (as found or as named by `LAZYLENS_BLAS`); absent when none is used. */
  readonly library?: string;
  /** Why none is used: turned off, or what each candidate said. Absent when one is used. */
  readonly reason?: string;
}

/** Libraries tried in order when `LAZYLENS_BLAS` names none. */
function candidates(): string[] {
  switch (process.platform) {
    case 'darwin':
      return ['/System/Library/Frameworks/Accelerate.framework/Accelerate', 'libopenblas.dylib'];
    case 'win32':
      return ['libopenblas.dll'];
    default:
      return ['libopenblas.so.0', 'libopenblas.so'];
  }
}

interface KoffiLike {
  load(path: string): { func(definition: string): (...args: unknown[]) => unknown };
}

/** A BLAS product and the report of how it was found (no product when none is used). */
export interface LoadedBlas {
  readonly sgemm?: Sgemm;
  readonly report: NativeBlasReport;
}

let loaded: LoadedBlas | undefined;

/**
 * The BLAS product, loading the library on the first call; undefined when none is used.
 * @throws BackendError when `LAZYLENS_BLAS` names a library that cannot load or has no `cblas_sgemm`.
 */
export function nativeSgemm(): Sgemm | undefined {
  return loadedBlas().sgemm;
}

/** What {@link nativeSgemm} found (loading it if that has not happened yet). */
export function nativeBlasReport(): NativeBlasReport {
  return loadedBlas().report;
}

function loadedBlas(): LoadedBlas {
  return (loaded ??= loadNativeBlas(process.env.LAZYLENS_BLAS ?? ''));
}

/**
 * Loads a BLAS as `setting` (the value of `LAZYLENS_BLAS`) says, trying `tried` in order when it
 * names none; each call loads anew.
 * @throws BackendError when `setting` names a library that cannot be used.
 */
export function loadNativeBlas(setting: string, tried: readonly string[] = candidates()): LoadedBlas {
  const env = setting.trim();
  if (env.toLowerCase() === 'off') return { report: { reason: 'turned off by LAZYLENS_BLAS=off' } };
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch (e) {
    if (env) throw new BackendError(`LAZYLENS_BLAS='${env}' needs the koffi package: ${firstLine(e)}.`);
    return { report: { reason: `koffi (optional dependency) is not installed: ${firstLine(e)}` } };
  }
  const failures: string[] = [];
  for (const library of env ? [env] : tried) {
    try {
      return { sgemm: bind(koffi, library), report: { library } };
    } catch (e) {
      failures.push(`${library}: ${firstLine(e)}`);
    }
  }
  if (env) {
    throw new BackendError(
      `LAZYLENS_BLAS='${env}' could not be used (${failures[0]}); expected 'off' or a library exporting cblas_sgemm.`,
    );
  }
  return { report: { reason: `no BLAS library found (${failures.join('; ')})` } };
}

/**
 * OpenBLAS's threads spin for 2^28 cycles (its default) after each product before they sleep,
 * taking the cores from the wasm kernels that follow; 2^4 puts them to sleep at once. GPT-2-small
 * `runWithCache` measured 1.2× faster with it, 4 runs each way alternating (2 threads). OpenBLAS
 * reads the setting when it loads, so it is set only for the load (a caller's own value is kept),
 * and child processes do not inherit it.
 */
const OPENBLAS_SPIN = { name: 'OPENBLAS_THREAD_TIMEOUT', value: '4' };

function loadLibrary(koffi: KoffiLike, library: string): ReturnType<KoffiLike['load']> {
  if (process.env[OPENBLAS_SPIN.name] !== undefined) return koffi.load(library);
  process.env[OPENBLAS_SPIN.name] = OPENBLAS_SPIN.value;
  try {
    return koffi.load(library);
  } finally {
    delete process.env[OPENBLAS_SPIN.name];
  }
}

function bind(koffi: KoffiLike, library: string): Sgemm {
  const raw = loadLibrary(koffi, library).func(
    'void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)',
  );
  return (transA, transB, m, n, k, a, lda, b, ldb, c, ldc, alpha = 1, beta = 0) =>
    void raw(
      ROW_MAJOR,
      transA ? TRANS : NO_TRANS,
      transB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      alpha,
      a,
      lda,
      b,
      ldb,
      beta,
      c,
      ldc,
    );
}
