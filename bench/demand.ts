/**
 * The demand-driven forward on a last-token per-head DLA job (GPT-2-small shape, random weights):
 * `runWithCache` with every activation and every position's logits, against `runWithCache` asking
 * only for what the attribution reads (the heads' z, the MLP outputs, the embeddings and the final
 * norm's scale; the last position's logits for the answer, or none). Each round runs the three
 * ways in turn, so the machine's load falls on all of them alike; the best and mean seconds per
 * job, the ratio full / demand-driven and the largest difference between their attributions are
 * printed and written to bench/results/demand-<backend>-<n>t.json.
 *
 * Run: npx tsx bench/demand.ts [--repeats 3]   (or npm run bench -- demand)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';
import type { LogitsWanted, RunWithCacheOptions } from '../src/model/options.js';
import { backendThreads, benchFlags, GPT2_SMALL, lcg, randomTokens, writeResult } from './common.js';

const SHAPES: [number, number][] = [
  [1, 64],
  [8, 64],
];

/** What a per-head DLA reads of the cache (as streamDla's 'heads'). */
const HEADS_DLA = /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|hook_mlp_out$|attn\.hook_z$/;

/** The options a way runs with. */
type Ask = Pick<RunWithCacheOptions, 'namesFilter' | 'logits'>;

const WAYS: { what: string; options: Ask }[] = [
  { what: 'runWithCache, everything', options: {} },
  {
    what: "runWithCache, needed hooks, logits 'last'",
    options: { namesFilter: (n: string) => HEADS_DLA.test(n), logits: 'last' },
  },
  {
    what: "runWithCache, needed hooks, logits 'none'",
    options: { namesFilter: (n: string) => HEADS_DLA.test(n), logits: 'none' },
  },
];

/** One job: the forward, then each row's attribution of its answer at the last position [components, batch]. */
async function job(
  model: HookedTransformer,
  tokens: number[][],
  answers: number[],
  options: Ask,
): Promise<Float32Array> {
  const { logits, cache } = await model.runWithCache<undefined, LogitsWanted>(tokens, options);
  try {
    if (logits) await logits.data(); // the answer a stream takes when a record has none
    const stack = cache.getFullResidDecomposition({ posSlice: -1, expandNeurons: false });
    return (await cache.logitAttrs(stack, answers, { posSlice: -1 }).data()) as Float32Array;
  } finally {
    logits?.dispose();
    cache.dispose();
  }
}

interface Row {
  what: string;
  batch: number;
  pos: number;
  bestSeconds: number;
  meanSeconds: number;
  peakMiB: number;
  /** max |attribution − the full run's|. */
  maxDiff: number;
}

export async function main(): Promise<void> {
  const { repeats } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  const rows: Row[] = [];
  for (const [batch, pos] of SHAPES) {
    const tokens = randomTokens(batch, pos, GPT2_SMALL.dVocab);
    const next = lcg(7);
    const answers = tokens.map(() => next(GPT2_SMALL.dVocab));
    const results: Float32Array[] = [];
    for (const w of WAYS) results.push(await job(model, tokens, answers, w.options)); // warm-up
    const times = WAYS.map((): number[] => []);
    for (let r = 0; r < repeats; r++) {
      for (const [i, w] of WAYS.entries()) {
        const t0 = performance.now();
        await job(model, tokens, answers, w.options);
        times[i].push((performance.now() - t0) / 1000);
      }
    }
    for (const [i, w] of WAYS.entries()) {
      const profile = await tf.profile(() => job(model, tokens, answers, w.options).then(() => []));
      const maxDiff = results[i].reduce((m, v, j) => Math.max(m, Math.abs(v - results[0][j])), 0);
      rows.push({
        what: w.what,
        batch,
        pos,
        bestSeconds: Math.min(...times[i]),
        meanSeconds: times[i].reduce((a, b) => a + b, 0) / times[i].length,
        peakMiB: profile.peakBytes / 2 ** 20,
        maxDiff,
      });
    }
  }
  model.dispose();
  console.log(
    `\n### Last-token per-head DLA, GPT-2-small shape, backend ${backend} on ${threads} thread(s); ${repeats} rounds\n`,
  );
  console.log('| run | batch × pos | best s | mean s | full / this (best) | peak MiB | max |Δ attr| |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const full = rows.find((f) => f.what === WAYS[0].what && f.batch === r.batch && f.pos === r.pos);
    const speedup = full ? (full.bestSeconds / r.bestSeconds).toFixed(2) : '—';
    console.log(
      `| ${r.what} | ${r.batch} × ${r.pos} | ${r.bestSeconds.toFixed(3)} | ${r.meanSeconds.toFixed(3)} | ${speedup} | ${r.peakMiB.toFixed(0)} | ${r.maxDiff.toExponential(1)} |`,
    );
  }
  writeResult(`demand-${backend}-${threads}t`, { repeats, rows });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
