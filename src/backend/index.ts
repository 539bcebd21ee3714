/**
 * Picks the TensorFlow.js backend lazylens runs on.
 *
 * Order when nothing is asked for: `tensorflow` (tfjs-node-gpu, then tfjs-node: optional peer
 * dependencies), `webgpu` (when @tensorflow/tfjs-backend-webgpu and a GPU adapter are present),
 * `wasm` (embedded, the default that works everywhere), `cpu`. `LAZYLENS_BACKEND` or the
 * `backend` option name one backend; if it cannot start, that is an error naming why.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { startWasm, wantedWasmThreads } from './wasmThreads.js';

export { wasmThreading, type WasmThreading } from './wasmThreads.js';

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

type Starter = () => Promise<void>;

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
        errors.push(`${pkg}: ${message(e)}`);
      }
    }
    throw new Error(errors.join('; '));
  },
  async webgpu() {
    const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator;
    if (!nav?.gpu) throw new Error('no navigator.gpu in this runtime');
    const adapter = await nav.gpu.requestAdapter();
    if (!adapter) throw new Error('no GPU adapter found');
    await importOptional('@tensorflow/tfjs-backend-webgpu');
    await activate('webgpu');
  },
  async wasm() {
    await startWasm(activate, wasmThreadsOption);
  },
  async cpu() {
    await activate('cpu');
  },
};

async function activate(name: string): Promise<void> {
  if (tf.findBackendFactory(name) === null && tf.findBackend(name) === null) {
    throw new Error(`backend '${name}' is not registered`);
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
}

function message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0];
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
      await starters[name]();
      selected = name;
      return name;
    } catch (e) {
      failures.push(`${name}: ${message(e)}`);
    }
  }
  const what = asked ? `backend '${asked}' was asked for but could not start` : 'no backend could start';
  throw new BackendError(`The ${what}. Tried ${failures.join('; ')}.`);
}

let selected: BackendName | undefined;
let wasmThreadsOption: number | undefined;

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
