/**
 * The copies wasm makes for gathers, slices and tiles, tfjs's kernels against lazylens's heap
 * kernels (src/backend/kernels/heapGather.ts, heapSlice.ts, heapTile.ts), on the shapes a
 * GPT-2-small forward and its analyses meet: the token embedding of an 8×64 batch, each row's last
 * position of an 8×59 residual, rows or a column of the [768, 50257] unembedding, a bias broadcast
 * over a batch's last positions, positional rows broadcast over a batch. Each op runs with tfjs's kernel,
 * then lazylens's, in turn (mean of `--repeats` × 5 calls after one warm-up); milliseconds and the
 * ratio are printed and written to bench/results/copies-<backend>-<n>t.json.
 *
 * Run: npx tsx bench/copies.ts [--repeats 3]   (or npm run bench -- copies)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/index.js';
import { heapGatherKernel } from '../src/backend/kernels/heapGather.js';
import { heapSliceKernel } from '../src/backend/kernels/heapSlice.js';
import { heapTileKernel } from '../src/backend/kernels/heapTile.js';
import type { WasmKernelSwap } from '../src/backend/kernels/wasmHeap.js';
import { backendThreads, benchFlags, GPT2_SMALL, lcg, writeResult } from './common.js';

const CALLS = 5;

/** Mean milliseconds of `f` over `repeats` × CALLS calls, after one. */
function meanMs(f: () => tf.Tensor, repeats: number): number {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < repeats * CALLS; i++) f().dispose();
  return (performance.now() - t0) / (repeats * CALLS);
}

export async function main(): Promise<void> {
  const { repeats } = benchFlags();
  await selectBackend({ backend: 'wasm' });
  const { dModel, dVocab } = GPT2_SMALL as { dModel: number; dVocab: number };
  const next = lcg(7);
  const W_E = tf.randomNormal([dVocab, dModel]);
  const W_U = tf.randomNormal([dModel, dVocab]);
  const resid = tf.randomNormal([8, 59, dModel]);
  const bias = tf.randomNormal([1, 1, 1, dModel]);
  const posRows = tf.randomNormal([1, 128, dModel]);
  const ids = tf.tensor2d(
    Array.from({ length: 8 }, () => Array.from({ length: 64 }, () => next(dVocab))),
    undefined,
    'int32',
  );
  const lastPositions = tf.tensor1d([30, 40, 50, 52, 55, 58, 57, 44], 'int32');
  const ops: [string, WasmKernelSwap, () => tf.Tensor][] = [
    ['gather: embed 8×64 token ids from W_E [50257, 768]', heapGatherKernel, () => tf.gather(W_E, ids)],
    [
      'gather: 8 positions of a residual [8, 59, 768]',
      heapGatherKernel,
      () => tf.gather(resid, lastPositions, 1),
    ],
    ['slice: 10 rows of W_U [768, 50257]', heapSliceKernel, () => tf.slice(W_U, [100, 0], [10, dVocab])],
    ['slice: a column of W_U [768, 50257]', heapSliceKernel, () => tf.slice(W_U, [0, 7], [dModel, 1])],
    ['tile: a bias [768] to [1, 8, 7, 768]', heapTileKernel, () => tf.tile(bias, [1, 8, 7, 1])],
    ['tile: 128 positional rows to a batch of 8', heapTileKernel, () => tf.tile(posRows, [8, 1, 1])],
  ];
  console.log(
    `\n### gathers, slices and tiles on wasm (${backendThreads()} thread(s)), mean of ${repeats * CALLS} calls\n`,
  );
  console.log("| op | tfjs's kernel ms | lazylens's heap kernel ms | ratio |");
  console.log('|---|---|---|---|');
  const rows: { op: string; tfjsMs: number; heapMs: number }[] = [];
  try {
    for (const [op, swap, f] of ops) {
      swap.uninstall();
      let tfjsMs: number;
      try {
        tfjsMs = meanMs(f, repeats);
      } finally {
        swap.install();
      }
      const heapMs = meanMs(f, repeats);
      rows.push({ op, tfjsMs, heapMs });
      console.log(
        `| ${op} | ${tfjsMs.toFixed(2)} | ${heapMs.toFixed(3)} | ${(tfjsMs / heapMs).toFixed(0)}× |`,
      );
    }
  } finally {
    tf.dispose([W_E, W_U, resid, bias, posRows, ids, lastPositions]);
  }
  writeResult(`copies-wasm-${backendThreads()}t`, { repeats, calls: CALLS, rows });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
