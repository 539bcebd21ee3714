/**
 * Composition scores at GPT-2-small shape: allCompositionScores (Q, K, V) on a random 12-layer,
 * d_model 768, 12-head (d_head 64) model: every one of the 144 × 132 / 2 cross-layer head pairs.
 * Reports wall time and the peak tf bytes of each table above the weights (tf.profile), beside the size of the
 * dense per-pair d_model × d_model products the naive approach would form (computed, not run),
 * and the host SVD of all 144 OV circuits.
 *
 * Run: npx tsx bench/circuits.ts   (or npm run bench -- circuits)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  allCompositionScores,
  HookedTransformer,
  OV,
  selectBackend,
  type BackendName,
} from '../src/index.js';

const MB = 2 ** 20;

export async function main(): Promise<void> {
  const backend = await selectBackend({ backend: (process.env.LAZYLENS_BACKEND as BackendName) ?? 'wasm' });
  const cfg = { nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dVocab: 16, nCtx: 16, attnOnly: true };
  const model = HookedTransformer.fromConfig(cfg, { seed: 0 });
  void [model.W_Q, model.W_K, model.W_V, model.W_O]; // build the stacked weights outside the timings
  const heads = cfg.nLayers * cfg.nHeads;
  const pairs = (cfg.nHeads * cfg.nHeads * cfg.nLayers * (cfg.nLayers - 1)) / 2;
  const denseBytes = pairs * cfg.dModel * cfg.dModel * 4;
  console.log(
    `\n### allCompositionScores, GPT-2-small shape (${heads} heads, ${pairs} cross-layer pairs), backend ${backend}\n`,
  );
  console.log(
    `Dense per-pair products (not built): ${pairs} × 768 × 768 floats = ${(denseBytes / 2 ** 30).toFixed(1)} GiB.\n`,
  );
  const baseline = tf.memory().numBytes;
  console.log(`Model weights and stacked views already held: ${(baseline / MB).toFixed(0)} MB.\n`);
  console.log('| mode | time | peak tf bytes above the weights | table |');
  console.log('|---|---|---|---|');
  for (const mode of ['Q', 'K', 'V'] as const) {
    let table: tf.Tensor | undefined;
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      table = await allCompositionScores(model, mode);
      return table;
    });
    const ms = performance.now() - t0;
    const mean = tf.tidy(() => tf.sum(table as tf.Tensor).div(pairs));
    const avg = (await mean.data())[0];
    tf.dispose([mean, table]);
    console.log(
      `| ${mode} | ${(ms / 1000).toFixed(1)} s | ${((info.peakBytes - baseline) / MB).toFixed(0)} MB | [12, 12, 12, 12], mean cross-layer score ${avg.toFixed(4)} |`,
    );
  }
  const ov = OV(model);
  const t0 = performance.now();
  const { U, S, Vh } = await ov.svd();
  console.log(
    `\nOV(model).svd() over ${heads} heads (host float64 QR + Jacobi): ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  tf.dispose([U, S, Vh]);
  ov.dispose();
  model.dispose();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
