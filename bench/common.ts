/**
 * What the benchmarks share: command-line flags, the GPT-2-small shape, deterministic token ids,
 * the PyTorch subprocess, and writing results to bench/results/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { wasmThreading } from '../src/index.js';
import type { PartialConfig } from '../src/core/config.js';

/** Flags every benchmark understands, with their defaults. */
const DEFAULTS = {
  /** Prompts of the streaming DLA job. */
  prompts: 1000,
  /** Timed runs per measurement (after one warm-up). */
  repeats: 3,
  /** New tokens of the generate measurement. */
  newTokens: 64,
};
export type BenchFlags = typeof DEFAULTS;

/**
 * Flags from `argv` (`--prompts 100` or `--prompts=100`); the other words are benchmark names.
 * @throws Error on a flag not in {@link DEFAULTS} or a value that is not a positive integer.
 */
export function parseArgs(argv: readonly string[]): { names: string[]; flags: BenchFlags } {
  const flags = { ...DEFAULTS };
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const [key, inline] = arg.slice(2).split('=', 2);
    if (!(key in DEFAULTS))
      throw new Error(
        `bench flag '--${key}': unknown; expected one of ${Object.keys(DEFAULTS)
          .map((k) => `--${k}`)
          .join(', ')}`,
      );
    const value = inline ?? argv[++i];
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`bench flag '--${key}': given '${value}', expected a positive integer`);
    flags[key as keyof BenchFlags] = n;
  }
  return { names, flags };
}

/** The flags of this process (bench/run.ts or one benchmark run directly). */
export function benchFlags(): BenchFlags {
  return parseArgs(process.argv.slice(2)).flags;
}

/** GPT-2 small's shape: 12 layers, d_model 768, 12 heads, d_mlp 3072, vocab 50257. */
export const GPT2_SMALL: PartialConfig & { dVocab: number } = {
  nLayers: 12,
  dModel: 768,
  nHeads: 12,
  dHead: 64,
  dMlp: 3072,
  dVocab: 50257,
  nCtx: 1024,
  actFn: 'gelu_new',
};

/** A deterministic pseudo-random generator of integers in [0, m). */
export function lcg(seed: number): (m: number) => number {
  let s = seed;
  return (m) => (s = (s * 1103515245 + 12345) % 2 ** 31) % m;
}

/** `batch` rows of `pos` deterministic token ids below `vocab`. */
export function randomTokens(batch: number, pos: number, vocab: number): number[][] {
  const next = lcg(12345);
  return Array.from({ length: batch }, () => Array.from({ length: pos }, () => next(vocab)));
}

/** Threads the current backend computes on (wasm: its XNNPACK pool; others: 1 as far as we know). */
export function backendThreads(): number {
  return tf.getBackend() === 'wasm' ? (wasmThreading()?.threads ?? 1) : 1;
}

/**
 * PyTorch intra-op thread counts each comparison measures: 1 and the cores. Debian's torch calls
 * a threaded OpenBLAS, which runs matrix products on every core whatever `set_num_threads` says;
 * more than one intra-op thread adds OpenMP threads beside OpenBLAS's, and on this project's
 * 2-core machine the two oversubscribe it (forward with hooks, GPT-2-small shape: 255–306 tok/s
 * at 1×64 with one intra-op thread, 119–140 with two). The benches report both and compare
 * lazylens with the faster, so the reference is PyTorch at its best, not at its default.
 */
export function torchThreadCounts(): number[] {
  return [...new Set([1, availableParallelism()])];
}

/**
 * Runs a PyTorch script at each of {@link torchThreadCounts}, `args(threads)` giving its
 * arguments; undefined where /usr/bin/python3 has no torch.
 */
export function runTorchAtEachThreadCount<T>(
  script: string,
  args: (threads: number) => (string | number)[],
): { threads: number; result: T }[] | undefined {
  if (!hasTorch()) return undefined;
  return torchThreadCounts().map((threads) => ({ threads, result: runPython<T>(script, args(threads)) }));
}

/**
 * Waits until `t` is computed by reading one of its elements: on an asynchronous backend (webgpu)
 * a read waits for all work queued before it, on wasm the work is already done. Reading the whole
 * tensor instead would time a copy into JavaScript that PyTorch's side of a comparison does not
 * make (all 8 × 128 × 50,257 logits of a GPT-2-small batch: 177–335 ms on wasm).
 */
export async function settle(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.gather(tf.reshape(t, [-1]), [0]));
  await one.data();
  one.dispose();
}

/** Whether /usr/bin/python3 can import torch. */
export function hasTorch(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs bench/<script> with /usr/bin/python3 and parses the JSON it prints last. */
export function runPython<T>(script: string, args: (string | number)[]): T {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const out = execFileSync('/usr/bin/python3', [path, ...args.map(String)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as T;
}

/** Writes `data` to bench/results/<name>.json with the machine's state, and says where. */
export function writeResult(name: string, data: object): void {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  const meta = {
    date: new Date().toISOString(),
    loadavg1: loadavg()[0],
    backend: tf.getBackend(),
    threads: backendThreads(),
  };
  writeFileSync(file, `${JSON.stringify({ ...meta, ...data }, null, 1)}\n`);
  console.log(`\n(results: bench/results/${name}.json)`);
}

/** "1.23" formatted ratio, or "—" without a denominator. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && b > 0 ? (a / b).toFixed(2) : '—';
}
