/**
 * Forward, runWithCache and generate throughput of a GPT-2-small-shaped random model (12 layers,
 * d_model 768, 12 heads, d_mlp 3072, vocab 50257) on the current backend (wasm by default, on as
 * many threads as it runs): tokens/s and the peak bytes tfjs held. When /usr/bin/python3 has
 * torch, the same shapes run in PyTorch eager (bench/torch_forward.py), at one intra-op thread and
 * at one per core: plain, with every activation captured by forward hooks, and greedy
 * generation; the ratios lazylens / PyTorch (at its faster setting, see torchThreadCounts) are
 * printed and everything is written to bench/results/forward-<backend>-<n>t.json. Each run waits
 * for its logits by reading one of them (see settle), as PyTorch's side reads none. The two sides
 * alternate in ROUNDS rounds, and each figure is the mean over the rounds.
 *
 * Run: npx tsx bench/forward.ts [--repeats 3] [--newTokens 64]   (or npm run bench -- forward;
 *   LAZYLENS_WASM_THREADS=1 for the single-thread build)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';
import {
  backendThreads,
  benchFlags,
  GPT2_SMALL,
  randomTokens,
  ratio,
  settle,
  runTorchAtEachThreadCount,
  torchThreadCounts,
  writeResult,
} from './common.js';

/**
 * Rounds, each lazylens's runs and then PyTorch's, averaged: this machine's speed drifts over
 * minutes (it is shared), and alternating puts the drift on both sides.
 */
const ROUNDS = 2;

const SHAPES: [number, number][] = [
  [1, 64],
  [8, 128],
];

interface Row {
  what: string;
  batch: number;
  pos: number;
  tokPerSec: number;
  /** Peak tf bytes in MiB (the model's weights included); null where not measured. */
  peakMiB: number | null;
}

async function measure(
  what: string,
  batch: number,
  pos: number,
  repeats: number,
  run: () => Promise<void>,
): Promise<Row> {
  await run(); // warm-up: kernels compiled, buffers allocated once
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await run();
  const seconds = (performance.now() - t0) / 1000 / repeats;
  const profile = await tf.profile(run);
  return { what, batch, pos, tokPerSec: (batch * pos) / seconds, peakMiB: profile.peakBytes / 2 ** 20 };
}

/** lazylens's rows of one round: forward and runWithCache per shape, then generate. */
async function lazylensRows(model: HookedTransformer, repeats: number, newTokens: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [batch, pos] of SHAPES) {
    const tokens = randomTokens(batch, pos, GPT2_SMALL.dVocab);
    const forward = async (): Promise<void> => {
      const logits = await model.forward(tokens);
      await settle(logits);
      logits.dispose();
    };
    const withCache = async (): Promise<void> => {
      const { logits, cache } = await model.runWithCache(tokens);
      await settle(logits);
      logits.dispose();
      cache.dispose();
    };
    // Both warmed before either is timed: the first pass of a shape grows the heap and starts
    // BLAS's threads, which would otherwise be charged to whichever is measured first.
    await forward();
    await withCache();
    rows.push(await measure('lazylens forward', batch, pos, repeats, forward));
    rows.push(await measure('lazylens runWithCache', batch, pos, repeats, withCache));
  }
  // generate: one 64-token prompt, greedy, `newTokens` new tokens; tokens/s counts new tokens.
  const prompt = randomTokens(1, 64, GPT2_SMALL.dVocab);
  await model.generate(prompt, { maxNewTokens: 2, doSample: false, stopAtEos: false }); // warm-up
  const t0 = performance.now();
  await model.generate(prompt, { maxNewTokens: newTokens, doSample: false, stopAtEos: false });
  const genSeconds = (performance.now() - t0) / 1000;
  rows.push({
    what: 'lazylens generate',
    batch: 1,
    pos: 64,
    tokPerSec: newTokens / genSeconds,
    peakMiB: null,
  });
  return rows;
}

/** Rows measured in several rounds, each row's tokens/s their mean (peak memory: the last round's). */
function meanRows(rounds: Row[][]): Row[] {
  return rounds[0].map((first, i) => ({
    ...first,
    tokPerSec: rounds.reduce((sum, round) => sum + round[i].tokPerSec, 0) / rounds.length,
    peakMiB: rounds[rounds.length - 1][i].peakMiB,
  }));
}

export async function main(): Promise<void> {
  const { repeats, newTokens } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  const ours: Row[][] = [];
  const theirs: { threads: number; result: Row[] }[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(await lazylensRows(model, repeats, newTokens));
    const runs = runTorchAtEachThreadCount<Row[]>('torch_forward.py', (t) => [
      '--repeats',
      repeats,
      '--threads',
      t,
      '--new-tokens',
      newTokens,
    ]);
    if (runs) theirs.push(runs);
  }
  model.dispose();
  const rows = meanRows(ours);
  const torchRuns = theirs.length
    ? theirs[0].map((run, i) => ({ threads: run.threads, result: meanRows(theirs.map((r) => r[i].result)) }))
    : undefined;
  const torch = torchRuns?.flatMap((run) =>
    run.result.map((r) => ({ ...r, what: `${r.what}, ${run.threads} intra-op thread(s)` })),
  );
  console.log(
    `\n### GPT-2-small shape, backend ${backend} on ${threads} thread(s)` +
      `${torchRuns ? `, PyTorch eager at ${torchThreadCounts().join(' and ')} intra-op thread(s) (OpenBLAS on every core)` : ''}; ` +
      `mean of ${repeats} runs in each of ${ROUNDS} rounds alternating the two; generate: ${newTokens} new tokens after 64\n`,
  );
  console.log('| run | batch × pos | tokens/s | peak MiB |');
  console.log('|---|---|---|---|');
  for (const r of [...rows, ...(torch ?? [])]) {
    const peak = r.peakMiB === null ? '—' : r.peakMiB.toFixed(0);
    console.log(`| ${r.what} | ${r.batch} × ${r.pos} | ${r.tokPerSec.toPrecision(3)} | ${peak} |`);
  }
  const find = (list: Row[] | undefined, what: string, batch: number, pos: number): number | undefined =>
    list?.find((r) => r.what === what && r.batch === batch && r.pos === pos)?.tokPerSec;
  // PyTorch's figure is its faster thread setting's (see torchThreadCounts).
  const best = (what: string, batch: number, pos: number): number | undefined => {
    const found = (torchRuns ?? [])
      .map((run) => find(run.result, what, batch, pos))
      .filter((v): v is number => v !== undefined);
    return found.length ? Math.max(...found) : undefined;
  };
  const ratios = [
    ...SHAPES.map(([b, p]) => ({
      what: `forward ${b} × ${p}`,
      ratio: ratio(find(rows, 'lazylens forward', b, p), best('PyTorch eager forward', b, p)),
    })),
    ...SHAPES.map(([b, p]) => ({
      what: `runWithCache vs forward with hooks ${b} × ${p}`,
      ratio: ratio(find(rows, 'lazylens runWithCache', b, p), best('PyTorch eager forward with hooks', b, p)),
    })),
    {
      what: `generate ${newTokens} after 64`,
      ratio: ratio(
        find(rows, 'lazylens generate', 1, 64),
        best('PyTorch eager generate (no KV cache)', 1, 64),
      ),
    },
  ];
  if (torch) {
    console.log('\n| tokens/s ratio, lazylens / PyTorch eager at its faster thread setting | ratio |');
    console.log('|---|---|');
    for (const r of ratios) console.log(`| ${r.what} | ${r.ratio} |`);
  } else {
    console.log('\n(PyTorch comparison skipped: /usr/bin/python3 has no torch)');
  }
  writeResult(`forward-${backend}-${threads}t`, { repeats, newTokens, rows, torch: torch ?? null, ratios });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
