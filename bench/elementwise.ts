/**
 * The forward's elementwise work on wasm: tfjs's compositions (the tanh GELU is six kernels, a
 * layer norm nine) against lazylens's SIMD kernels (src/backend/kernels/simdKernels.ts), on the
 * shapes of one streaming batch of the DLA job (8 prompts, 472 real tokens, GPT-2-small widths);
 * and the dense layers' work around their products: reshapes and a bias add as tfjs ops against
 * one BLAS kernel that writes the product onto the bias (src/backend/kernels/blasLinear.ts), on
 * the shapes of a 1×64 pass (its product is the same BLAS call both ways).
 * For each op the two run in turn, `--repeats` rounds of 5 calls each after one warm-up call each,
 * so drifts in the machine's speed fall on both; mean milliseconds and the ratio are printed and
 * written to bench/results/elementwise-<backend>-<n>t.json.
 *
 * Run: npx tsx bench/elementwise.ts [--repeats 3]   (or npm run bench -- elementwise)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/index.js';
import {
  biasActivation,
  gatedActivation,
  normalizeCore,
  setFusedKernels,
  simdKernelsActive,
} from '../src/backend/kernels/index.js';
import { headProjection, linear } from '../src/model/layers.js';
import { backendThreads, benchFlags, GPT2_SMALL, writeResult } from './common.js';

const CALLS = 5;
const ROWS = 472;
/** Rows of the dense layers' case: one 64-token prompt. */
const PASS_ROWS = 64;

/** Milliseconds of CALLS calls of `f`, its intermediates freed after each. */
function callsMs(f: () => tf.Tensor): number {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) tf.tidy(f).dispose();
  return (performance.now() - t0) / CALLS;
}

/** Mean milliseconds of `f` with the fused forms off (tfjs's ops) and on, alternating rounds. */
function bothWays(f: () => tf.Tensor, repeats: number): { tfjsMs: number; simdMs: number } {
  let [tfjsMs, simdMs] = [0, 0];
  try {
    for (const on of [false, true]) {
      setFusedKernels(on);
      tf.tidy(f).dispose(); // warm-up
    }
    for (let r = 0; r < repeats; r++) {
      setFusedKernels(false);
      tfjsMs += callsMs(f);
      setFusedKernels(true);
      simdMs += callsMs(f);
    }
  } finally {
    setFusedKernels(true);
  }
  return { tfjsMs: tfjsMs / repeats, simdMs: simdMs / repeats };
}

export async function main(): Promise<void> {
  const { repeats } = benchFlags();
  await selectBackend({ backend: 'wasm' });
  if (!simdKernelsActive()) throw new Error("bench/elementwise: lazylens's SIMD kernels do not run here");
  const { dModel, dMlp } = GPT2_SMALL as { dModel: number; dMlp: number };
  const hidden = tf.randomNormal([ROWS, dMlp], 0, 2);
  const up = tf.randomNormal([ROWS, dMlp]);
  const bIn = tf.randomNormal([dMlp]);
  const resid = tf.randomNormal([ROWS, dModel], 0, 3);
  const w = tf.randomNormal([dModel]);
  const b = tf.randomNormal([dModel]);
  const { nHeads, dHead, dVocab } = GPT2_SMALL as { nHeads: number; dHead: number; dVocab: number };
  const x = tf.randomNormal([1, PASS_ROWS, dModel]);
  const wIn = tf.randomNormal([dModel, dMlp], 0, 0.02);
  const wQ = tf.randomNormal([nHeads, dModel, dHead], 0, 0.02);
  const wQFlat = tf.reshape(tf.transpose(wQ, [1, 0, 2]), [dModel, nHeads * dHead]);
  const bQ = tf.randomNormal([nHeads, dHead]);
  const wU = tf.randomNormal([dModel, dVocab], 0, 0.02);
  const bU = tf.randomNormal([dVocab]);
  const ops: [string, () => tf.Tensor][] = [
    [`tanh GELU of x + b_in, [${ROWS}, ${dMlp}]`, () => biasActivation(hidden, 'gelu_new', bIn)],
    [
      `gated tanh GELU(gate) · up + b, [${ROWS}, ${dMlp}]`,
      () => gatedActivation(hidden, up, 'gelu_new', bIn),
    ],
    [
      `LayerNorm with w and b, [${ROWS}, ${dModel}]`,
      () => normalizeCore(resid, { kind: 'LN', eps: 1e-5, w, b }),
    ],
    [
      `folded LayerNorm (LNPre), [${ROWS}, ${dModel}]`,
      () => normalizeCore(resid, { kind: 'LNPre', eps: 1e-5 }),
    ],
    [`RMSNorm with w, [${ROWS}, ${dModel}]`, () => normalizeCore(resid, { kind: 'RMS', eps: 1e-5, w })],
    [`x · W_in + b_in, [${PASS_ROWS}, ${dModel}] · [${dModel}, ${dMlp}]`, () => linear(x, wIn, bIn)],
    [
      `x · W_Q + b_Q to heads, [${PASS_ROWS}, ${dModel}] → [${PASS_ROWS}, ${nHeads}, ${dHead}]`,
      () => headProjection(x, wQ, bQ, wQFlat),
    ],
    [`x · W_U + b_U, [${PASS_ROWS}, ${dModel}] · [${dModel}, ${dVocab}]`, () => linear(x, wU, bU)],
  ];
  console.log(
    `\n### elementwise ops, and the dense layers' reshapes and bias, on wasm (${backendThreads()} thread(s)), mean of ${repeats} rounds of ${CALLS} calls each way\n`,
  );
  console.log("| op | tfjs's ops ms | lazylens's kernel ms | ratio |");
  console.log('|---|---|---|---|');
  const rows: { op: string; tfjsMs: number; simdMs: number }[] = [];
  try {
    for (const [op, f] of ops) {
      const { tfjsMs, simdMs } = bothWays(f, repeats);
      rows.push({ op, tfjsMs, simdMs });
      console.log(
        `| ${op} | ${tfjsMs.toFixed(2)} | ${simdMs.toFixed(2)} | ${(tfjsMs / simdMs).toFixed(1)}× |`,
      );
    }
  } finally {
    tf.dispose([hidden, up, bIn, resid, w, b, x, wIn, wQ, wQFlat, bQ, wU, bU]);
  }
  writeResult(`elementwise-wasm-${backendThreads()}t`, { repeats, calls: CALLS, rows });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
