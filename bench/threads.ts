/**
 * The wasm backend's threaded build against its single-thread build, side by side in one run:
 * the same measurements in two child processes (a wasm module starts once per process), one with
 * LAZYLENS_WASM_THREADS=1 and one on every core. matMul at the shapes a GPT-2-small forward
 * multiplies, then forward tokens/s of the GPT-2-small-shaped random model; speed-up =
 * threaded / single. Written to bench/results/threads.json.
 *
 * Run: npx tsx bench/threads.ts [--repeats 3]   (or npm run bench -- threads)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { HookedTransformer, selectBackend } from '../src/index.js';
import { backendThreads, benchFlags, GPT2_SMALL, randomTokens, writeResult } from './common.js';

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
      await logits.data();
      logits.dispose();
    });
    out.push({ what: `forward ${batch} × ${pos}`, ms, rate: (batch * pos) / (ms / 1000), unit: 'tokens/s' });
  }
  model.dispose();
  console.log(JSON.stringify({ threads: backendThreads(), measures: out }));
}

function runChild(threads: string | undefined, repeats: number): { threads: number; measures: Measure[] } {
  const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: '1', LAZYLENS_BACKEND: 'wasm' };
  if (threads) env.LAZYLENS_WASM_THREADS = threads;
  else delete env.LAZYLENS_WASM_THREADS;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--repeats', String(repeats)],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as { threads: number; measures: Measure[] };
}

export function main(): Promise<void> {
  const { repeats } = benchFlags();
  const single = runChild('1', repeats);
  const threaded = runChild(undefined, repeats);
  console.log(
    `\n### wasm: single-thread build vs threaded build on ${threaded.threads} threads (mean of ${repeats}–${3 * repeats} calls)\n`,
  );
  console.log('| measurement | single | threaded | unit | speed-up |');
  console.log('|---|---|---|---|---|');
  const rows = single.measures.map((s, i) => {
    const t = threaded.measures[i];
    const speedUp = t.rate / s.rate;
    console.log(
      `| ${s.what} | ${s.rate.toFixed(1)} | ${t.rate.toFixed(1)} | ${s.unit} | ${speedUp.toFixed(2)}× |`,
    );
    return { what: s.what, unit: s.unit, single: s.rate, threaded: t.rate, speedUp };
  });
  writeResult('threads', { repeats, threads: threaded.threads, rows });
  return Promise.resolve();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.env[CHILD]) await child(benchFlags().repeats);
  else await main();
}
