/**
 * Forward, runWithCache and generate throughput of a GPT-2-small-shaped random model (12 layers,
 * d_model 768, 12 heads, d_mlp 3072, vocab 50257) on the current backend (wasm by default, on as
 * many threads as it runs): tokens/s and the peak bytes tfjs held. When /usr/bin/python3 has
 * torch, the same shapes run in PyTorch eager (bench/torch_forward.py, kept running as a server):
 * plain, with every activation captured by forward hooks, and greedy generation. Each run waits
 * for its logits by reading one of them (see settle), as PyTorch's side reads none.
 *
 * The two sides alternate measurement by measurement, in ROUNDS rounds: this machine's speed
 * drifts by tens of percent over minutes, and a ratio of two figures taken minutes apart carries
 * that drift. Each round gives each comparison a ratio of figures taken seconds apart; the median
 * over the rounds is the figure reported, with the range beside it. PyTorch runs at one intra-op
 * thread and at one per core in the first round, and at the faster of the two after it (see
 * torchThreadCounts). Everything is written to bench/results/forward-<backend>-<n>t.json.
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
  hasTorch,
  randomTokens,
  settle,
  torchThreadCounts,
  writeResult,
} from './common.js';
import { TorchServer } from './torchServer.js';

/** Rounds of alternating measurements; the reported ratio is their median. */
const ROUNDS = 5;

const SHAPES: [number, number][] = [
  [1, 64],
  [8, 128],
];

/** One comparison: lazylens's run and the PyTorch request that does the same. */
interface Comparison {
  what: string;
  batch: number;
  pos: number;
  /** Tokens a run counts (new tokens for generate). */
  tokens: number;
  /** Seconds of one lazylens run (after a warm-up), and its peak MiB when asked. */
  ours: (peak: boolean) => Promise<{ seconds: number; peakMiB: number | null }>;
  torch: Record<string, string | number>;
}

/** What one comparison measured, round by round. */
interface Measured {
  what: string;
  batch: number;
  pos: number;
  oursTokPerSec: number[];
  /** PyTorch's tokens/s per round at the setting compared (the faster one). */
  torchTokPerSec: number[];
  /** PyTorch's tokens/s at each intra-op thread count, first round. */
  torchByThreads: Record<number, number>;
  torchThreads: number;
  ratios: number[];
  peakMiB: number | null;
}

/** Seconds per run of `run`, `repeats` runs after one warm-up; tfjs's peak over one more when asked. */
async function timeRuns(
  run: () => Promise<void>,
  repeats: number,
  peak: boolean,
): Promise<{ seconds: number; peakMiB: number | null }> {
  await run(); // warm-up: kernels compiled, buffers allocated once
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) await run();
  const seconds = (performance.now() - t0) / 1000 / repeats;
  const peakMiB = peak ? (await tf.profile(run)).peakBytes / 2 ** 20 : null;
  return { seconds, peakMiB };
}

function comparisons(model: HookedTransformer, repeats: number, newTokens: number): Comparison[] {
  const list: Comparison[] = [];
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
    const shape = { batch, pos, tokens: batch * pos };
    list.push({
      what: 'forward',
      ...shape,
      ours: (peak) => timeRuns(forward, repeats, peak),
      torch: { op: 'forward', batch, pos, repeats },
    });
    list.push({
      what: 'runWithCache vs forward with hooks',
      ...shape,
      ours: (peak) => timeRuns(withCache, repeats, peak),
      torch: { op: 'hooks', batch, pos, repeats },
    });
  }
  // generate: one 64-token prompt, greedy, `newTokens` new tokens; tokens/s counts new tokens.
  const prompt = randomTokens(1, 64, GPT2_SMALL.dVocab);
  const generate = (n: number) =>
    model.generate(prompt, { maxNewTokens: n, doSample: false, stopAtEos: false });
  list.push({
    what: `generate ${newTokens} after 64`,
    batch: 1,
    pos: 64,
    tokens: newTokens,
    ours: async () => {
      await generate(2); // warm-up
      const t0 = performance.now();
      await generate(newTokens);
      return { seconds: (performance.now() - t0) / 1000, peakMiB: null };
    },
    torch: { op: 'generate', newTokens },
  });
  return list;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function main(): Promise<void> {
  const { repeats, newTokens } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  const list = comparisons(model, repeats, newTokens);
  const torch = hasTorch() ? await TorchServer.start('torch_forward.py') : undefined;
  const measured: Measured[] = list.map((c) => ({
    what: c.what,
    batch: c.batch,
    pos: c.pos,
    oursTokPerSec: [],
    torchTokPerSec: [],
    torchByThreads: {},
    torchThreads: 1,
    ratios: [],
    peakMiB: null,
  }));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of list.entries()) {
        const m = measured[i];
        const ours = await c.ours(round === ROUNDS - 1);
        m.oursTokPerSec.push(c.tokens / ours.seconds);
        m.peakMiB = ours.peakMiB ?? m.peakMiB;
        if (!torch) continue;
        // The first round tries every thread count; the rounds after it run the faster one.
        if (round === 0) {
          for (const t of torchThreadCounts()) {
            m.torchByThreads[t] = c.tokens / (await torch.seconds({ ...c.torch, threads: t }));
          }
          const [t, tokPerSec] = Object.entries(m.torchByThreads).reduce((a, b) => (b[1] > a[1] ? b : a));
          m.torchThreads = Number(t);
          m.torchTokPerSec.push(tokPerSec);
        } else {
          const seconds = await torch.seconds({ ...c.torch, threads: m.torchThreads });
          m.torchTokPerSec.push(c.tokens / seconds);
        }
        m.ratios.push(m.oursTokPerSec[round] / m.torchTokPerSec[round]);
      }
    }
  } finally {
    await torch?.close();
    model.dispose();
  }
  report(measured, { backend, threads, repeats, newTokens, torch: torch !== undefined });
}

function report(
  measured: readonly Measured[],
  run: { backend: BackendName; threads: number; repeats: number; newTokens: number; torch: boolean },
): void {
  console.log(
    `\n### GPT-2-small shape, backend ${run.backend} on ${run.threads} thread(s)` +
      `${run.torch ? `, PyTorch eager at its faster of ${torchThreadCounts().join(' and ')} intra-op thread(s) (OpenBLAS on every core)` : ''}; ` +
      `${ROUNDS} rounds alternating the two measurement by measurement, each figure of a round the mean of ${run.repeats} runs; ` +
      `generate: ${run.newTokens} new tokens after 64\n`,
  );
  console.log(
    '| comparison | batch × pos | lazylens tokens/s (mean) | PyTorch tokens/s (mean) | ratio: median of rounds | range | lazylens peak MiB |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const m of measured) {
    const theirs = m.torchTokPerSec.length ? mean(m.torchTokPerSec).toPrecision(3) : '—';
    const r = m.ratios.length ? median(m.ratios).toFixed(2) : '—';
    const range = m.ratios.length
      ? `${Math.min(...m.ratios).toFixed(2)}–${Math.max(...m.ratios).toFixed(2)}`
      : '—';
    const peak = m.peakMiB === null ? '—' : m.peakMiB.toFixed(0);
    console.log(
      `| ${m.what} | ${m.batch} × ${m.pos} | ${mean(m.oursTokPerSec).toPrecision(3)} | ${theirs} | ${r} | ${range} | ${peak} |`,
    );
  }
  if (run.torch) {
    console.log('\nPyTorch in the first round, tokens/s by intra-op threads:');
    for (const m of measured) {
      const by = Object.entries(m.torchByThreads)
        .map(([t, v]) => `${t}: ${v.toPrecision(3)}`)
        .join(', ');
      console.log(`- ${m.what} ${m.batch} × ${m.pos}: ${by} (compared at ${m.torchThreads})`);
    }
  } else {
    console.log('\n(PyTorch comparison skipped: /usr/bin/python3 has no torch)');
  }
  writeResult(`forward-${run.backend}-${run.threads}t`, {
    repeats: run.repeats,
    newTokens: run.newTokens,
    rounds: ROUNDS,
    comparisons: measured.map((m) => ({
      ...m,
      ratioMedian: m.ratios.length ? median(m.ratios) : null,
    })),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
