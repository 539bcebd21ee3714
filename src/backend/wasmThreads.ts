/**
 * Starts tfjs's wasm backend, on several threads where it can.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (XNNPACK on a pthread pool) that, as shipped, never
 * runs under Node: its `WASM_HAS_MULTITHREAD_SUPPORT` flag is false whenever it sees Node, its
 * pthreads are browser workers started from `blob:` URLs (see ./pthreadWorker.ts), and XNNPACK's
 * pool is sized from emscripten's core count halved (`navigator.hardwareConcurrency / 2` in a
 * browser, `os.cpus().length / 2` under Node), so a 2-core machine gets one thread. Here the flag is
 * set, `worker_threads.Worker` is swapped for {@link PthreadWorker} and `os.cpus()` reports twice
 * the threads wanted while the module starts; all three are restored right after.
 *
 * The thread count comes from the `wasmThreads` option, else `LAZYLENS_WASM_THREADS`, else one
 * where a BLAS library does the matrix products (./index.ts says why), else the number of
 * cores Node may use (at most 8: the glue starts 8 workers and XNNPACK is capped there).
 * One thread runs the single-thread SIMD build. If the threaded build cannot start, lazylens says
 * why in one line and runs the single-thread build.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type * as WasmModule from '@tensorflow/tfjs-backend-wasm';
import { BackendError } from '../errors.js';
import { firstLine } from '../util/firstLine.js';
import { PthreadWorker, setPthreadDistDir, watchPthreadStartup } from './pthreadWorker.js';
import { withoutEmscriptenErrorHandlers } from './quietWasmErrors.js';

/** The most threads the threaded build can use (its glue pre-starts this many workers). */
export const MAX_WASM_THREADS = 8;

/** How long the threaded build may take to start before lazylens falls back (seconds). */
const START_TIMEOUT_S = 60;

/** How the wasm backend is running. */
export interface WasmThreading {
  /** Threads XNNPACK runs kernels on (1: the single-thread build). */
  readonly threads: number;
  /** Why the threaded build is not running when more threads were wanted; absent otherwise. */
  readonly fallbackReason?: string;
}

let started: WasmThreading | undefined;

/** How the wasm backend started in this process, or undefined before it has. */
export function wasmThreading(): WasmThreading | undefined {
  return started;
}

/**
 * The thread count asked for: `option`, else `LAZYLENS_WASM_THREADS`, else `defaultThreads`, else
 * the cores Node may use (capped at {@link MAX_WASM_THREADS}). `explicit` says whether the caller
 * named a count.
 * @throws BackendError when the option or variable is not an integer in [1, 8].
 */
export function wantedWasmThreads(
  option?: number,
  defaultThreads?: number,
): { threads: number; explicit: boolean } {
  if (option !== undefined) return { threads: checkCount(option, 'the wasmThreads option'), explicit: true };
  const env = process.env.LAZYLENS_WASM_THREADS;
  if (env !== undefined && env !== '') {
    const n = /^\d+$/.test(env.trim()) ? Number(env) : Number.NaN;
    return { threads: checkCount(n, `LAZYLENS_WASM_THREADS='${env}'`, env), explicit: true };
  }
  return { threads: defaultThreads ?? Math.min(availableParallelism(), MAX_WASM_THREADS), explicit: false };
}

function checkCount(n: number, source: string, given: unknown = n): number {
  if (Number.isInteger(n) && n >= 1 && n <= MAX_WASM_THREADS) return n;
  throw new BackendError(
    `Wasm thread count (from ${source}): given ${String(given)}, expected an integer from 1 to ${MAX_WASM_THREADS}.`,
  );
}

type WasmPackage = typeof WasmModule;

/**
 * Starts the wasm backend (once per process; later calls only switch tfjs back to it) and
 * returns how it runs.
 * @param activate makes tfjs use the named, registered backend and waits until it is ready.
 * @throws BackendError when an explicit thread count differs from the one the backend started
 *   with (a wasm module's thread pool is fixed for the life of the process).
 */
export async function startWasm(
  activate: (name: string) => Promise<void>,
  option?: number,
  defaultThreads?: number,
): Promise<WasmThreading> {
  const { threads, explicit } = wantedWasmThreads(option, defaultThreads);
  if (started) {
    const differs = explicit && threads !== started.threads && started.fallbackReason === undefined;
    if (differs) {
      throw new BackendError(
        `Wasm thread count: given ${threads}, but the wasm backend already runs on ${started.threads} ` +
          'in this process; expected the same count (set it before the first model or selectBackend call).',
      );
    }
    await activate('wasm');
    return started;
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (threads > 1) {
    try {
      const actual = await withoutEmscriptenErrorHandlers(() => startThreaded(wasm, threads, activate));
      started = { threads: actual };
      return started;
    } catch (e) {
      const reason = firstLine(e);
      console.warn(
        `lazylens: the threaded wasm build did not start (${reason}); running the single-thread build. ` +
          'LAZYLENS_WASM_THREADS=1 skips the attempt.',
      );
      started = { threads: 1, fallbackReason: reason };
    }
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await withoutEmscriptenErrorHandlers(() => activate('wasm'));
  started ??= { threads: 1 };
  return started;
}

async function startThreaded(
  wasm: WasmPackage,
  threads: number,
  activate: (name: string) => Promise<void>,
): Promise<number> {
  const require = createRequire(import.meta.url);
  const workerThreads = require('node:worker_threads') as { Worker: unknown };
  const os = require('node:os') as { cpus: () => unknown[] };
  const { Worker } = workerThreads;
  const { cpus } = os;
  let failed: (error: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  const watched = watchPthreadStartup((e) => failed(e));
  const timer = setTimeout(
    () => failed(new Error(`its workers were not ready within ${START_TIMEOUT_S} s`)),
    START_TIMEOUT_S * 1000,
  );
  // tfjs reports a backend that failed to start with console.warn (the whole stack) and returns
  // false; keep those lines for the one-line reason, and pass them on if the start succeeds.
  const warn = console.warn;
  const warnings: unknown[][] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args);
  try {
    setPthreadDistDir(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')));
    workerThreads.Worker = PthreadWorker;
    // XNNPACK sizes its pool from emscripten's core count halved (one thread per physical core in
    // a browser with hyper-threading); report twice the threads wanted so the pool gets them all.
    os.cpus = () => {
      const real = cpus();
      return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
    };
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    wasm.setThreadsCount(threads);
    await Promise.race([activate('wasm'), failure]);
    console.warn = warn;
    for (const args of warnings) warn(...args);
    return wasm.getThreadsCount();
  } catch (e) {
    for (const w of watched.workers) void w.terminate();
    // tfjs warns 'Initialization of backend wasm failed', then the cause: the cause is the reason.
    const cause = warnings.find((args) => !String(args[0]).startsWith('Initialization of backend'));
    throw cause ? new Error(String(cause[0])) : e;
  } finally {
    console.warn = warn;
    clearTimeout(timer);
    watched.stop();
    workerThreads.Worker = Worker;
    os.cpus = cpus;
  }
}
