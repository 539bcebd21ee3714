/**
 * Picks the TensorFlow.js backend lazylens runs on.
 *
 * Order when nothing is asked for: `tensorflow` (tfjs-node-gpu, then tfjs-node: optional peer
 * dependencies), `webgpu` (@tensorflow/tfjs-backend-webgpu on a hardware GPU adapter: the browser's,
 * or Dawn's in Node), `wasm` (embedded, the default that works everywhere), `cpu`. A software
 * adapter (Mesa's llvmpipe) is used only when `webgpu` is named: it is slower than wasm. Why each
 * faster backend was passed over is kept, one line each, in {@link backendInfo}. `LAZYLENS_BACKEND`
 * or the `backend` option name one backend; if it cannot start, that is an error naming why.
 * On wasm, matrix products run through the machine's BLAS where one loads (./nativeBlas.ts), and
 * gathers, slices and tiles copy whole runs within the heap (./kernels/heapGather.ts, heapSlice.ts,
 * heapTile.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { deviceBindingLimit, planningLimit, setDeviceBindingLimit } from '../../graph/index.js';
import { BackendError } from '../errors.js';
import { firstLine } from '../util/firstLine.js';
import { blasMatMulActive, installBlasMatMul } from './kernels/blasMatMul.js';
import { heapGatherKernel } from './kernels/heapGather.js';
import { heapSliceKernel } from './kernels/heapSlice.js';
import { heapTileKernel } from './kernels/heapTile.js';
import { prepareSimdKernels, simdKernelsActive } from './kernels/simdKernels.js';
import { nativeBlasReport, nativeSgemm, type NativeBlasReport } from './nativeBlas.js';
import { startWasm, wantedWasmThreads } from './wasmThreads.js';

export { wasmThreading, type WasmThreading } from './wasmThreads.js';
export type { NativeBlasReport } from './nativeBlas.js';
import { findGpuAdapter, foundGpuAdapter, isSoftwareAdapter, type GpuAdapterReport } from './gpuAdapter.js';

/** A tfjs backend lazylens can run on, fastest first. */
export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Options of {@link selectBackend}. */
export interface BackendOptions {
  /** One backend to use; overrides `LAZYLENS_BACKEND`. */
  backend?: BackendName;
  /** Threads of the wasm backend (1–8; 1 is the single-thread build); overrides `LAZYLENS_WASM_THREADS`. */
  wasmThreads?: number;
}

// `auto` is true when the backend was not named, so a start may decline what only a named one accepts.
type Starter = (auto: boolean) => Promise<void>;

// Packages are imported by computed names so bundlers and tsc do not require them to exist.
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

const starters: Record<BackendName, Starter> = {
  async tensorflow() {
    const errors: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await importOptional(pkg);
        await activate('tensorflow');
        return;
      } catch (e) {
        errors.push(`${pkg}: ${firstLine(e)}`);
      }
    }
    throw new Error(errors.join('; '));
  },
  async webgpu(auto) {
    // Named, it may run on a software adapter (llvmpipe, for CI); chosen automatically, only on a GPU.
    const adapter = await findGpuAdapter({ software: !auto });
    if (auto && isSoftwareAdapter(adapter)) {
      throw new Error(`only a software adapter (${adapter.device || adapter.description}), slower than wasm`);
    }
    // Imported after the adapter search: the package registers itself only if navigator.gpu exists.
    await importOptional('@tensorflow/tfjs-backend-webgpu');
    await activate('webgpu');
    setDeviceBindingLimit(adapter.limits.maxStorageBufferBindingSize);
  },
  async wasm() {
    // BLAS runs the products on every core; wasm's own thread pool beside it only oversubscribes
    // the cores (its workers and BLAS's spin in turn), so with BLAS wasm runs one thread unless
    // told otherwise: a GPT-2-small runWithCache at 1×64 was ≈1.2× faster so (D-015).
    const blas = nativeSgemm() !== undefined;
    await startWasm(activate, wasmThreadsOption, blas ? 1 : undefined);
    installBlasMatMul();
    heapGatherKernel.install();
    heapSliceKernel.install();
    heapTileKernel.install();
    await prepareSimdKernels();
  },
  async cpu() {
    await activate('cpu');
  },
};

async function activate(name: string): Promise<void> {
  setDeviceBindingLimit(Infinity); // webgpu sets its adapter's limit once it runs
  if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
    throw new Error(`backend '${name}' is not registered`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

function parseName(name: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new BackendError(
    `Unknown backend '${name}' (from ${source}); expected one of ${BACKEND_NAMES.join(', ')}.`,
  );
}

/**
 * Starts the backend asked for, or the best available one, and returns its name.
 * @throws BackendError naming every backend tried and why each failed.
 */
export async function selectBackend(options: BackendOptions = {}): Promise<BackendName> {
  wantedWasmThreads(options.wasmThreads); // a bad count is an error even if wasm is not picked
  // So is a library LAZYLENS_BLAS names that cannot be used: left to wasm's start, an automatic
  // choice would pass over wasm for the 30× slower cpu backend and only list why.
  if ((process.env.LAZYLENS_BLAS ?? '').trim() !== '') nativeSgemm();
  const env = process.env.LAZYLENS_BACKEND;
  const asked = options.backend
    ? parseName(options.backend, 'the backend option')
    : env
      ? parseName(env, 'LAZYLENS_BACKEND')
      : undefined;
  if (asked && selected === asked && tf.getBackend() === asked) return asked;
  wasmThreadsOption = options.wasmThreads;
  const order = asked ? [asked] : BACKEND_NAMES;
  const failures: string[] = [];
  for (const name of order) {
    try {
      await starters[name](!asked);
      selected = name;
      passedOver = failures.slice();
      return name;
    } catch (e) {
      failures.push(`${name}: ${firstLine(e)}`);
    }
  }
  const what = asked ? `backend '${asked}' was asked for but could not start` : 'no backend could start';
  throw new BackendError(`The ${what}. Tried ${failures.join('; ')}.`);
}

let selected: BackendName | undefined;
let wasmThreadsOption: number | undefined;
let passedOver: string[] = [];

/**
 * Selects the best backend once per process, unless {@link selectBackend} already chose one.
 * Model entry points call it so a user who never picks a backend gets wasm, not tfjs's pure-JS cpu.
 */
export async function ensureBackend(): Promise<string> {
  if (selected === undefined) await selectBackend();
  return tf.getBackend();
}

/** The name of the backend tfjs is running on now. */
export function currentBackend(): string {
  return tf.getBackend();
}

/** The backend lazylens runs on and, for webgpu, the adapter under it. */
export interface BackendInfo {
  /** The tfjs backend running now. */
  readonly backend: string;
  /** The WebGPU adapter, when one was found (whether or not webgpu is the backend running). */
  readonly adapter?: GpuAdapterReport;
  /** One line per faster backend the last automatic choice passed over, saying why. */
  readonly passedOver: readonly string[];
  /**
   * Bytes one kernel may bind per tensor on the running backend (WebGPU's
   * maxStorageBufferBindingSize); `Infinity` where the backend has no such limit.
   */
  readonly maxBindingBytes: number;
  /** What matrix products are split to: `maxBindingBytes`, or lower under `LAZYLENS_MAX_BINDING_BYTES`. */
  readonly planningBindingBytes: number;
  /**
   * The BLAS library the running backend's matrix products go through (wasm only; see
   * `LAZYLENS_BLAS`), or why there is none.
   */
  readonly blas: NativeBlasReport;
  /**
   * Whether the MLP's activation (the tanh GELUs) and the norms run as lazylens's own
   * SIMD kernels on the wasm heap (wasm only, with fused forms on; see `setFusedKernels`).
   */
  readonly simdKernels: boolean;
}

/**
 * Reports the running backend and the WebGPU adapter, e.g. to check which GPU a run used.
 * @example
 * ```ts
 * import { backendInfo } from 'lazylens';
 *
 * const info = await backendInfo();
 * info.backend;                                            // 'wasm' without a GPU; 'webgpu' on one
 * info.adapter?.limits.maxStorageBufferBindingSize;        // bytes one kernel may bind per tensor
 * info.passedOver;                                         // why faster backends were not chosen
 * info.blas.library;                                       // 'libopenblas.so.0' where wasm uses it
 * ```
 */
export async function backendInfo(): Promise<BackendInfo> {
  const adapter = await foundGpuAdapter();
  const backend = tf.getBackend();
  return {
    backend,
    ...(adapter ? { adapter } : {}),
    passedOver: [...passedOver],
    maxBindingBytes: deviceBindingLimit(),
    planningBindingBytes: planningLimit(),
    blas: blasInfo(backend),
    simdKernels: simdKernelsActive(),
  };
}

function blasInfo(backend: string): NativeBlasReport {
  if (backend !== 'wasm') return { reason: `only the wasm backend's products use one (running ${backend})` };
  return blasMatMulActive() ? nativeBlasReport() : { reason: nativeBlasReport().reason ?? 'not in place' };
}

export type { GpuAdapterReport, GpuLimits } from './gpuAdapter.js';
