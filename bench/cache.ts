/**
 * The cache's fused attribution at GPT-2-small shape: logitAttrs(getFullResidDecomposition({
 * expandNeurons: true })) on a random 12-layer, d_model 768, 12-head, d_mlp 3072 model, batch 4 ×
 * pos 64. Reports the size of the stack the naive path would build (not run: ~29 GB, past wasm's
 * 4 GiB heap), the planned run's peak tf bytes and wall time, and their ratio.
 *
 * Run: npx tsx bench/cache.ts   (or npm run bench)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ExecStats } from '../graph/index.js';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';

const [BATCH, POS] = [4, 64];

export async function main(): Promise<void> {
  const backend = await selectBackend({ backend: (process.env.LAZYLENS_BACKEND as BackendName) ?? 'wasm' });
  const model = HookedTransformer.fromConfig(
    { nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 },
    { seed: 0 },
  );
  let s = 7;
  const tokens = Array.from({ length: BATCH }, () =>
    Array.from({ length: POS }, () => (s = (s * 48271) % 2147483647) % 50257),
  );
  const { cache, logits } = await model.runWithCache(tokens);
  logits.dispose();
  const full = cache.getFullResidDecomposition({ expandNeurons: true });
  const attrs = cache.logitAttrs(full, tokens);
  const stackBytes = full.shape.reduce((a, b) => a * b, 1) * 4;
  attrs.tensor().dispose(); // warm-up
  const stats: ExecStats = { peakBytes: 0, steps: 0 };
  const t0 = performance.now();
  const out = attrs.tensor({ stats });
  await out.data();
  const ms = performance.now() - t0;
  console.log(`\n### fused full per-neuron logit attribution, GPT-2-small shape, backend ${backend}\n`);
  console.log('| components | batch × pos | naive stack (not built) | planned peak | ratio | planned time |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ${full.shape[0]} | ${BATCH} × ${POS} | ${(stackBytes / 2 ** 30).toFixed(1)} GiB | ${(stats.peakBytes / 2 ** 20).toFixed(1)} MiB | ${(stackBytes / stats.peakBytes).toFixed(0)}× | ${ms.toFixed(0)} ms |`,
  );
  tf.dispose(out);
  cache.dispose();
  model.dispose();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
