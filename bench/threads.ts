/**
 * The wasm backend's configurations side by side in one run: its own kernels on one thread and on
 * every core, and (where the machine has a BLAS library) its products through BLAS with wasm on
 * one thread and on every core. The same measurements run in one child process each (a wasm
 * module starts once per process): matMul at the shapes a GPT-2-small forward multiplies, then
 * forward tokens/s of the GPT-2-small-shaped random model; each against wasm on one thread.
 * Written to bench/results/threads.json.
 *
 * Run: npx tsx bench/threads.ts [--repeats 3]   (or npm run bench -- threads)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { nativeBlasReport } from '../src/backend/nativeBlas.js';
import { MAX_WASM_THREADS } from '../src/backend/wasmThreads.js';
import { backendInfo, HookedTransformer, selectBackend } from '../src/index.js';
import { backendThreads, benchFlags, GPT2_SMALL, randomTokens, settle, writeResult } from './common.js';

const CHILD = 'LAZYLENS_BENCH_THREADS_CHILD';

/** [rows, inner, cols]: a 1×64 prompt's MLP-in, a 8×128 batch's MLP-in, and a square. */
const MATMULS: [number, number, number][] = [
  [64, 768, 3072],
  [1024, 768, 3072],
  [1024, 1024, 1024],
];
const FORWARDS: [number, number][] = [
  [1, 64],
  [8, 128],
];

interface Measure {
  what: string;
  /** Milliseconds per call. */
  ms: number;
  /** GFLOP/s for matMul, tokens/s for forward. */
  rate: number;
  unit: string;
}

async function time(repeats: number, run: () => Promise<void>): Promise<number> {
  await run();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await run();
  return (performance.now() - t0) / repeats;
}

/** The child: measures on the build LAZYLENS_WASM_THREADS picks and prints one JSON line. */
async function child(repeats: number): Promise<void> {
  await selectBackend({ backend: 'wasm' });
  const out: Measure[] = [];
  for (const [m, k, n] of MATMULS) {
    const a = tf.randomNormal([m, k]);
    const b = tf.randomNormal([k, n]);
    const ms = await time(repeats * 3, async () => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    });
    out.push({ what: `matMul ${m}×${k} · ${k}×${n}`, ms, rate: (2 * m * k * n) / ms / 1e6, unit: 'GFLOP/s' });
    tf.dispose([a, b]);
  }
  const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  for (const [batch, pos] of FORWARDS) {
    const tokens = randomTokens(batch, pos, GPT2_SMALL.dVocab);
    const ms = await time(repeats, async () => {
      const logits = await model.forward(tokens);
      await settle(logits);
      logits.dispose();
    });
    out.push({ what: `forward ${batch} × ${pos}`, ms, rate: (batch * pos) / (ms / 1000), unit: 'tokens/s' });
  }
  model.dispose();
  console.log(
    JSON.stringify({
      threads: backendThreads(),
      blas: (await backendInfo()).blas.library ?? null,
      measures: out,
    }),
  );
}

interface ChildResult {
  threads: number;
  blas: string | null;
  measures: Measure[];
}

/** Runs the child with `env` added to this process's (a value of undefined removes the variable). */
function runChild(extra: Record<string, string | undefined>, repeats: number): ChildResult {
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: '1', LAZYLENS_BACKEND: 'wasm' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--repeats', String(repeats)],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as ChildResult;
}

export function main(): Promise<void> {
  const { repeats } = benchFlags();
  const cores = String(Math.min(availableParallelism(), MAX_WASM_THREADS));
  // wasm's own kernels on one thread and on every core, then the products through BLAS (when the
  // machine has a library) with wasm on one thread (the default then) and on every core.
  const configs: { what: string; env: Record<string, string | undefined> }[] = [
    { what: 'wasm, 1 thread', env: { LAZYLENS_BLAS: 'off', LAZYLENS_WASM_THREADS: '1' } },
    { what: `wasm, ${cores} threads`, env: { LAZYLENS_BLAS: 'off', LAZYLENS_WASM_THREADS: cores } },
  ];
  const blas = nativeBlasReport().library;
  if (blas) {
    configs.push(
      { what: `BLAS + wasm 1 thread`, env: { LAZYLENS_BLAS: undefined, LAZYLENS_WASM_THREADS: '1' } },
      {
        what: `BLAS + wasm ${cores} threads`,
        env: { LAZYLENS_BLAS: undefined, LAZYLENS_WASM_THREADS: cores },
      },
    );
  }
  const results = configs.map((c) => ({ ...c, result: runChild(c.env, repeats) }));
  console.log(
    `\n### wasm's kernels on 1 and ${cores} threads${blas ? `, and products through BLAS (${blas})` : ' (no BLAS library here)'}; ` +
      `mean of ${repeats}–${3 * repeats} calls; (×): against wasm on 1 thread\n`,
  );
  console.log(`| measurement | ${results.map((r) => r.what).join(' | ')} | unit |`);
  console.log(`|---|${results.map(() => '---|').join('')}---|`);
  const base = results[0].result.measures;
  const rows = base.map((m, i) => {
    const rates = results.map((r) => r.result.measures[i].rate);
    const cells = rates.map((rate, j) =>
      j === 0 ? rate.toFixed(1) : `${rate.toFixed(1)} (${(rate / m.rate).toFixed(2)}×)`,
    );
    console.log(`| ${m.what} | ${cells.join(' | ')} | ${m.unit} |`);
    return {
      what: m.what,
      unit: m.unit,
      rates: Object.fromEntries(results.map((r, j) => [r.what, rates[j]])),
    };
  });
  writeResult('threads', {
    repeats,
    configs: results.map((r) => ({ what: r.what, threads: r.result.threads, blas: r.result.blas })),
    rows,
  });
  return Promise.resolve();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.env[CHILD]) await child(benchFlags().repeats);
  else await main();
}
