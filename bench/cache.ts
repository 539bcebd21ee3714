/**
 * The cache's attribution at GPT-2-small shape (12 layers, d_model 768, 12 heads, d_mlp 3072,
 * vocab 50257), on a random model:
 *
 * 1. Fused full per-neuron attribution: logitAttrs(getFullResidDecomposition({ expandNeurons:
 *    true })) at batch 4 × pos 64. Reports the size of the stack the naive path would build (not
 *    run: ~29 GB, past wasm's 4 GiB heap), the planned run's peak tf bytes and wall time.
 * 2. Batch-1 per-head DLA at the last position against the same DLA at every position (1 × 64):
 *    the last position reads one column of W_U and one position of each activation, so it must
 *    not cost more than all 64. (It did, 7× on wasm, while a slice copied the whole of W_U.)
 *
 * Written to bench/results/cache-<backend>-<n>t.json.
 * Run: npx tsx bench/cache.ts [--repeats 3]   (or npm run bench -- cache)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { ExecStats } from '../graph/index.js';
import { HookedTransformer, selectBackend, type ActivationCache, type BackendName } from '../src/index.js';
import { backendThreads, benchFlags, GPT2_SMALL, randomTokens, writeResult } from './common.js';

const [BATCH, POS] = [4, 64];

/** Mean wall time of `f` (its tensor read back) over `repeats` runs after one warm-up, in ms. */
async function timeMs(repeats: number, f: () => tf.Tensor): Promise<number> {
  const warm = f();
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) {
    const t = f();
    await t.data();
    t.dispose();
  }
  return (performance.now() - t0) / repeats;
}

/** Batch-1 per-head DLA of each position's next token: the last position alone, and all of them. */
async function lastVersusAll(
  model: HookedTransformer,
  repeats: number,
): Promise<{ lastMs: number; allMs: number }> {
  const [row] = randomTokens(1, 65, GPT2_SMALL.dVocab);
  const tokens = [row.slice(0, 64)];
  const next = [row.slice(1)]; // the answer at each position: the token after it
  const { cache, logits } = await model.runWithCache(tokens);
  logits.dispose();
  const heads = (c: ActivationCache, posSlice?: number) =>
    c.getFullResidDecomposition({ posSlice, expandNeurons: false });
  const lastMs = await timeMs(repeats, () =>
    cache.logitAttrs(heads(cache, -1), [next[0][63]], { posSlice: -1 }).tensor(),
  );
  const allMs = await timeMs(repeats, () => cache.logitAttrs(heads(cache), next).tensor());
  cache.dispose();
  return { lastMs, allMs };
}

export async function main(): Promise<void> {
  const { repeats } = benchFlags();
  const backend = await selectBackend({ backend: (process.env.LAZYLENS_BACKEND as BackendName) ?? 'wasm' });
  const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  const tokens = randomTokens(BATCH, POS, GPT2_SMALL.dVocab);
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
  const fusedMs = performance.now() - t0;
  tf.dispose(out);
  cache.dispose();
  const dla = await lastVersusAll(model, repeats);
  model.dispose();

  console.log(
    `\n### GPT-2-small shape, backend ${backend} on ${backendThreads()} thread(s)\n\n` +
      'fused full per-neuron logit attribution:\n',
  );
  console.log('| components | batch × pos | naive stack (not built) | planned peak | ratio | planned time |');
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ${full.shape[0]} | ${BATCH} × ${POS} | ${(stackBytes / 2 ** 30).toFixed(1)} GiB | ${(stats.peakBytes / 2 ** 20).toFixed(1)} MiB | ${(stackBytes / stats.peakBytes).toFixed(0)}× | ${fusedMs.toFixed(0)} ms |`,
  );
  console.log(
    `\nbatch-1 per-head DLA (logitAttrs of getFullResidDecomposition), 1 × 64, mean of ${repeats}:\n`,
  );
  console.log('| positions | ms |');
  console.log('|---|---|');
  console.log(`| last only (posSlice -1) | ${dla.lastMs.toFixed(1)} |`);
  console.log(`| all 64 | ${dla.allMs.toFixed(1)} |`);
  console.log(
    `\nall / last time ratio: ${(dla.allMs / dla.lastMs).toFixed(2)} (above 1: the last position is cheaper)`,
  );
  writeResult(`cache-${backend}-${backendThreads()}t`, {
    repeats,
    fused: {
      components: full.shape[0],
      batch: BATCH,
      pos: POS,
      stackBytes,
      peakBytes: stats.peakBytes,
      ms: fusedMs,
    },
    dlaBatch1: { ...dla, allOverLast: dla.allMs / dla.lastMs },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
