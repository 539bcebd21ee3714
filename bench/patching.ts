/**
 * Activation patching: how much batching several patches into one forward pass saves. On the
 * shipped induction-2l model, a repeated-words prompt (BOS + 16 words + the same 16 words) and a
 * corrupted one (other words in the first half), `getActPatchResidPre` (2 × 33 patches) and
 * `getActPatchAttnHeadOutByPos` (2 × 33 × 4 patches) run with 1, 8 and the default number of
 * patches per pass; the results must agree, and the table shows the wall time of each.
 *
 * Run: npx tsx bench/patching.ts   (or npm run bench -- patching)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  getActPatchAttnHeadOutByPos,
  getActPatchResidPre,
  HookedTransformer,
  logitDiffMetric,
  selectBackend,
  type ActPatchFn,
  type BackendName,
} from '../src/index.js';

function range(values: Float32Array): string {
  const [lo, hi] = values.reduce(([a, b], v) => [Math.min(a, v), Math.max(b, v)], [Infinity, -Infinity]);
  return `[${lo.toFixed(2)}, ${hi.toFixed(2)}]`;
}

export async function main(): Promise<void> {
  const backend = await selectBackend({ backend: (process.env.LAZYLENS_BACKEND as BackendName) ?? 'wasm' });
  const model = await HookedTransformer.fromPretrained('induction-2l');
  const half = 16;
  const words = Array.from({ length: half }, (_, i) => 10 + 7 * i);
  const others = Array.from({ length: half }, (_, i) => 150 + 11 * i);
  const clean = [[355, ...words, ...words]];
  const corrupt = [[355, ...others, ...words]];
  // In the clean run the last word was followed by the first word the first time round; the corrupted run has no such copy.
  const metric = logitDiffMetric(words[0], others[0]);
  const { cache, logits } = await model.runWithCache(clean);
  logits.dispose();
  console.log(`\n### activation patching on induction-2l, ${clean[0].length} tokens, backend ${backend}\n`);
  console.log(
    '| preset | patches | patches per pass | passes | time | max |Δ| vs 1 per pass | metric range |',
  );
  console.log('|---|---|---|---|---|---|---|');
  const presets: [string, ActPatchFn][] = [
    ['getActPatchResidPre', getActPatchResidPre],
    ['getActPatchAttnHeadOutByPos', getActPatchAttnHeadOutByPos],
  ];
  for (const [name, fn] of presets) {
    let reference: Float32Array | undefined;
    for (const perPass of [1, 8, undefined]) {
      let passes = 0;
      let total = 0;
      const t0 = performance.now();
      const r = await fn(model, corrupt, cache, metric, {
        ...(perPass === undefined ? {} : { patchesPerForward: perPass }),
        onProgress: (_done, all) => {
          passes++;
          total = all;
        },
      });
      const ms = performance.now() - t0;
      const values = (await r.values.data()) as Float32Array;
      r.values.dispose();
      reference ??= values;
      let diff = 0;
      for (let i = 0; i < values.length; i++) diff = Math.max(diff, Math.abs(values[i] - reference[i]));
      const label = perPass === undefined ? 'default' : String(perPass);
      console.log(
        `| ${name} | ${total} | ${label} | ${passes} | ${(ms / 1000).toFixed(2)} s | ${diff.toExponential(1)} | ${range(values)} |`,
      );
    }
  }
  cache.dispose();
  model.dispose();
  console.log(`\ntf tensors left: ${tf.memory().numTensors}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
