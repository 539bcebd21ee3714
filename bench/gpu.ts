/**
 * `npm run bench:gpu`: the device check for a GPU machine. On the webgpu backend (falling back to
 * wasm, with the reason, when no adapter is found): the adapter, tf.matMul throughput, forward and
 * runWithCache tokens/s at 1×64 and 8×128 (forward also with the fused WGSL kernels off), and the full per-neuron direct logit attribution at 4×64
 * and 16×128 (last position, then all positions); then a small model run on this backend and on
 * wasm, compared. Prints a table and writes JSON.
 *
 * Options: `--size gpt2` (default: GPT-2-small shape, random weights) or `--size small` (a 2-layer
 * d_model 64 model, for a software adapter such as llvmpipe); `--out FILE` (default
 * test-artifacts/bench-gpu.json). Timings await a read of each result, after one warm-up run per
 * shape (the first run of a shape compiles its shaders).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ExecStats } from '../graph/index.js';
import { backendInfo, selectBackend, type BackendInfo } from '../src/backend/index.js';
import { setFusedKernels } from '../src/backend/kernels/index.js';
import { HookedTransformer } from '../src/index.js';
import type { PartialConfig } from '../src/core/config.js';

type Size = 'gpt2' | 'small';

const CONFIGS: Record<Size, PartialConfig> = {
  gpt2: {
    nLayers: 12,
    dModel: 768,
    nHeads: 12,
    dHead: 64,
    dMlp: 3072,
    dVocab: 50257,
    nCtx: 1024,
    actFn: 'gelu_new',
  },
  small: {
    nLayers: 2,
    dModel: 64,
    nHeads: 4,
    dHead: 16,
    dMlp: 256,
    dVocab: 1000,
    nCtx: 256,
    actFn: 'gelu_new',
  },
};
const MATMUL_N: Record<Size, number> = { gpt2: 4096, small: 256 };
const CHECK_CONFIG = {
  nLayers: 2,
  dModel: 64,
  nHeads: 4,
  dHead: 16,
  dMlp: 256,
  dVocab: 500,
  nCtx: 32,
  actFn: 'gelu_new',
} satisfies PartialConfig;
const REPEATS = 3;

interface Row {
  what: string;
  shape: string;
  value: number | null;
  unit: string;
  note?: string;
}

function options(): { size: Size; out: string } {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'gpt2' },
      out: { type: 'string', default: 'test-artifacts/bench-gpu.json' },
    },
    strict: true,
  });
  if (values.size !== 'gpt2' && values.size !== 'small') {
    throw new Error(`--size '${values.size}' given; expected 'gpt2' or 'small'.`);
  }
  return { size: values.size, out: values.out };
}

/** Ids from a fixed linear congruential sequence: the same prompts on every run and backend. */
function tokens(batch: number, pos: number, vocab: number, seed = 7): number[][] {
  let s = seed;
  return Array.from({ length: batch }, () =>
    Array.from({ length: pos }, () => (s = (s * 48271) % 2147483647) % vocab),
  );
}

/** Progress on stderr, so an unattended run shows where it is. */
function stage(what: string): void {
  process.stderr.write(`bench:gpu ${new Date().toISOString().slice(11, 19)} ${what}\n`);
}

/** Mean seconds of `REPEATS` runs of `fn` after one warm-up run. */
async function time(fn: () => Promise<void>): Promise<number> {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < REPEATS; i++) await fn();
  return (performance.now() - t0) / 1000 / REPEATS;
}

async function matMulRow(n: number): Promise<Row> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const chain = 8;
  // Eight products then a one-number read: the queue runs in order, so the read waits for all of
  // them, and reading back the n² result would time the transfer instead.
  const s = await time(async () => {
    let last: tf.Tensor | undefined;
    for (let i = 0; i < chain; i++) {
      last?.dispose();
      last = tf.matMul(a, b);
    }
    const total = tf.sum(last as tf.Tensor);
    await total.data();
    tf.dispose([total, last]);
  });
  tf.dispose([a, b]);
  return { what: 'tf.matMul', shape: `${n}²`, value: (2 * n ** 3 * chain) / s / 1e9, unit: 'GFLOP/s' };
}

async function modelRows(model: HookedTransformer): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [batch, pos] of [
    [1, 64],
    [8, 128],
  ] as const) {
    const ids = tokens(batch, pos, model.cfg.dVocab);
    const fwd = await time(async () => {
      const logits = await model.forward(ids);
      await logits.data();
      logits.dispose();
    });
    rows.push({ what: 'forward', shape: `${batch}×${pos}`, value: (batch * pos) / fwd, unit: 'tok/s' });
    if (tf.getBackend() === 'webgpu') {
      // The same forward with lazylens's fused WGSL kernels off: the plain tfjs composition.
      setFusedKernels(false);
      const plain = await time(async () => {
        const logits = await model.forward(ids);
        await logits.data();
        logits.dispose();
      });
      setFusedKernels(true);
      rows.push({
        what: 'forward, fused kernels off',
        shape: `${batch}×${pos}`,
        value: (batch * pos) / plain,
        unit: 'tok/s',
        note: `fused is ${(plain / fwd).toFixed(2)}× this`,
      });
    }
    const cached = await time(async () => {
      const { logits, cache } = await model.runWithCache(ids);
      await logits.data();
      logits.dispose();
      cache.dispose();
    });
    rows.push({
      what: 'runWithCache',
      shape: `${batch}×${pos}`,
      value: (batch * pos) / cached,
      unit: 'tok/s',
    });
  }
  return rows;
}

/** Full per-neuron DLA of each row's next token (`tokens` shifted), at the last position or all. */
async function dla(
  model: HookedTransformer,
  ids: number[][],
  last: boolean,
  stats?: ExecStats,
): Promise<Float32Array> {
  const { logits, cache } = await model.runWithCache(ids);
  logits.dispose();
  try {
    const answers = ids.map((row) => row.map((_, p) => row[(p + 1) % row.length]));
    const lazy = last
      ? cache.logitAttrs(
          cache.getFullResidDecomposition({ expandNeurons: true, posSlice: -1 }),
          answers.map((r) => r[r.length - 1]),
          { posSlice: -1 },
        )
      : cache.logitAttrs(cache.getFullResidDecomposition({ expandNeurons: true }), answers);
    const t = lazy.tensor(stats ? { stats } : {});
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  } finally {
    cache.dispose();
  }
}

async function dlaRows(model: HookedTransformer): Promise<Row[]> {
  const rows: Row[] = [];
  for (const last of [true, false]) {
    for (const [batch, pos] of [
      [4, 64],
      [16, 128],
    ] as const) {
      const ids = tokens(batch, pos, model.cfg.dVocab);
      const what = `full per-neuron DLA, ${last ? 'last position' : 'all positions'}`;
      try {
        const stats: ExecStats = { peakBytes: 0, steps: 0 };
        await dla(model, ids, last); // warm-up
        const t0 = performance.now();
        await dla(model, ids, last, stats);
        const ms = performance.now() - t0;
        rows.push({
          what,
          shape: `${batch}×${pos}`,
          value: ms,
          unit: 'ms',
          note: `planned peak ${(stats.peakBytes / 2 ** 20).toFixed(1)} MiB; includes runWithCache`,
        });
      } catch (e) {
        rows.push({
          what,
          shape: `${batch}×${pos}`,
          value: null,
          unit: 'ms',
          note: `failed: ${(e as Error).message.split('\n')[0]}`,
        });
      }
    }
  }
  return rows;
}

/** Logits and last-position DLA of a small model on the running backend, as host arrays. */
async function checkRun(): Promise<{ logits: Float32Array; dla: Float32Array }> {
  const model = HookedTransformer.fromConfig(CHECK_CONFIG, { seed: 3 });
  try {
    const ids = tokens(2, 16, CHECK_CONFIG.dVocab, 11);
    const logits = await model.forward(ids);
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    return { logits: values, dla: await dla(model, ids, true) };
  } finally {
    model.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

function format(v: number | null, unit: string): string {
  if (v === null) return '—';
  return unit === 'GFLOP/s' ? v.toFixed(1) : unit === 'max |Δ|' ? v.toExponential(2) : v.toFixed(1);
}

export async function main(): Promise<void> {
  const { size, out } = options();
  let fallback: string | undefined;
  try {
    await selectBackend({ backend: 'webgpu' });
  } catch (e) {
    fallback = (e as Error).message.split('\n')[0];
    await selectBackend({ backend: 'wasm' });
  }
  const info: BackendInfo = await backendInfo();
  const started = performance.now();
  stage(`backend ${info.backend}: matMul`);
  const rows: Row[] = [await matMulRow(MATMUL_N[size])];
  stage('forward and runWithCache');
  const model = HookedTransformer.fromConfig(CONFIGS[size], { seed: 0 });
  rows.push(...(await modelRows(model)));
  stage('full per-neuron DLA');
  rows.push(...(await dlaRows(model)));
  model.dispose();
  stage('check against wasm');
  const here = await checkRun();
  await selectBackend({ backend: 'wasm' });
  const wasm = await checkRun();
  const checks = {
    logits: maxAbsDiff(here.logits, wasm.logits),
    dlaLastPosition: maxAbsDiff(here.dla, wasm.dla),
  };
  rows.push(
    {
      what: `logits vs wasm (2×16, ${CHECK_CONFIG.nLayers}-layer d_model ${CHECK_CONFIG.dModel})`,
      shape: '2×16',
      value: checks.logits,
      unit: 'max |Δ|',
    },
    {
      what: 'full per-neuron DLA vs wasm, last position',
      shape: '2×16',
      value: checks.dlaLastPosition,
      unit: 'max |Δ|',
    },
  );
  const seconds = (performance.now() - started) / 1000;

  const a = info.adapter;
  console.log(
    `\n### bench/gpu.ts: backend ${info.backend}, size ${size}${fallback ? ` (webgpu unavailable: ${fallback})` : ''}\n`,
  );
  if (a && info.backend === 'webgpu') {
    console.log(
      `adapter: ${a.description || a.device} · vendor '${a.vendor}' · architecture '${a.architecture}' · ${a.featureLevel} (${a.source})`,
    );
    console.log(
      `limits: maxStorageBufferBindingSize ${a.limits.maxStorageBufferBindingSize} · maxBufferSize ${a.limits.maxBufferSize}\n`,
    );
  }
  console.log('| run | shape | value | unit | note |');
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.what} | ${r.shape} | ${format(r.value, r.unit)} | ${r.unit} | ${r.note ?? ''} |`);
  console.log(
    `\n${seconds.toFixed(0)} s in all; mean of ${REPEATS} runs after a warm-up (DLA: one run after a warm-up).`,
  );

  mkdirSync(dirname(out), { recursive: true });
  const json = {
    backend: info.backend,
    size,
    fallback: fallback ?? null,
    adapter: a ?? null,
    config: CONFIGS[size],
    rows,
    checks,
    seconds,
  };
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`written to ${out}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
