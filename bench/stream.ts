/**
 * Bounded memory of `streamCaches`: streams 2,000 prompts (token ids of random lengths, with
 * answers) through the shipped model (`models/induction-2l`, or the gpt2-tiny test fixture when it
 * is not there yet), attributing each prompt's answer at its last real token to every head and MLP
 * (mapToLazy → materialize → meanOver). Prints tf.memory().numTensors and process RSS every
 * `SAMPLE_EVERY` batches, and their growth after warm-up: tensors must stay flat, RSS under 50 MB.
 *
 * Run: npx tsx bench/stream.ts   (NODE_OPTIONS=--expose-gc to collect garbage before each sample;
 *   LAZYLENS_BACKEND=cpu to pick the backend)
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { lastValueFrom, tap } from 'rxjs';
import { HookedTransformer } from '../src/index.js';
import { lastTokenDla } from '../src/stream/lastTokenDla.js';
import { mapToLazy } from '../src/stream/mapToLazy.js';
import { materialize } from '../src/stream/materialize.js';
import { meanOver } from '../src/stream/meanOver.js';
import { progress, type ProgressInfo } from '../src/stream/progress.js';
import { streamCaches } from '../src/stream/streamCaches.js';
import type { PromptRecord } from '../src/stream/CacheBatch.js';

const PROMPTS = 2000;
const BATCH_SIZE = 16;
const CONCURRENCY = 2;
const SAMPLE_EVERY = 10; // batches
const WARMUP_BATCHES = 10;
const RSS_BUDGET_MB = 50;

const SHIPPED = fileURLToPath(new URL('../models/induction-2l', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../test/fixtures/gpt2-tiny', import.meta.url));

/** Deterministic prompts, generated lazily: ids in [0, vocab), lengths in [4, min(nCtx, 48)]. */
function* prompts(n: number, vocab: number, nCtx: number): Generator<PromptRecord> {
  let s = 2026;
  const next = (m: number): number => (s = (s * 1103515245 + 12345) % 2 ** 31) % m;
  const maxLen = Math.min(nCtx, 48);
  for (let i = 0; i < n; i++) {
    const len = 4 + next(maxLen - 3);
    yield { prompt: Array.from({ length: len }, () => next(vocab)), answer: next(vocab) };
  }
}

interface Sample {
  batch: number;
  prompts: number;
  numTensors: number;
  /** Bytes tfjs holds in tensors. */
  tensorMB: number;
  rssMB: number;
  heapMB: number;
}

const mb = (bytes: number): number => bytes / 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;

export async function main(): Promise<{ samples: Sample[]; tensorGrowth: number; rssGrowthMB: number }> {
  const where = existsSync(`${SHIPPED}/config.json`) ? SHIPPED : FIXTURE;
  const model = await HookedTransformer.fromPretrained(where);
  const { cfg } = model;
  console.log(
    `model ${where.replace(/.*\/(models|fixtures)\//, '')}: ${cfg.nLayers} layers, d_model ${cfg.dModel}, ` +
      `vocab ${cfg.dVocab}, n_ctx ${cfg.nCtx}; backend ${tf.getBackend()}`,
  );
  console.log(`${PROMPTS} prompts, batchSize ${BATCH_SIZE}, concurrency ${CONCURRENCY}, padding right`);
  const samples: Sample[] = [];
  let batches = 0;
  let last: ProgressInfo | undefined;
  const t0 = performance.now();
  const mean = await lastValueFrom(
    streamCaches(model, prompts(PROMPTS, cfg.dVocab, cfg.nCtx), {
      batchSize: BATCH_SIZE,
      concurrency: CONCURRENCY,
    }).pipe(
      mapToLazy((b) =>
        lastTokenDla(b, {
          stack: (c, ps) => c.getFullResidDecomposition({ posSlice: ps, expandNeurons: false }),
        }),
      ),
      materialize(),
      tap((m) => {
        batches++;
        if (batches % SAMPLE_EVERY === 0 || batches === 1) {
          gc?.(); // with node --expose-gc: measure what is live, not what the GC has yet to collect
          const mem = process.memoryUsage();
          samples.push({
            batch: batches,
            prompts: m.start + m.size,
            numTensors: tf.memory().numTensors,
            tensorMB: mb(tf.memory().numBytes),
            rssMB: mb(mem.rss),
            heapMB: mb(mem.heapUsed),
          });
        }
      }),
      progress((p) => (last = p)),
      meanOver({ axis: 1 }),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log('\nbatch  prompts  numTensors  tensor MB  rss MB  js heap MB');
  for (const s of samples)
    console.log(
      [
        String(s.batch).padStart(5),
        String(s.prompts).padStart(7),
        String(s.numTensors).padStart(10),
        s.tensorMB.toFixed(2).padStart(9),
        s.rssMB.toFixed(1).padStart(6),
        s.heapMB.toFixed(1).padStart(10),
      ].join('  '),
    );
  const after = samples.filter((s) => s.batch >= WARMUP_BATCHES);
  const tensorGrowth =
    Math.max(...after.map((s) => s.numTensors)) - Math.min(...after.map((s) => s.numTensors));
  const rssGrowthMB = after[after.length - 1].rssMB - after[0].rssMB;
  console.log(
    `\n${last?.prompts ?? 0} prompts in ${seconds.toFixed(1)} s (${((last?.prompts ?? 0) / seconds).toFixed(0)} prompts/s); ` +
      `mean attribution over ${(mean as number[]).length} components`,
  );
  console.log(
    `after warm-up (batch ${WARMUP_BATCHES}): numTensors growth ${tensorGrowth} ` +
      `(${tensorGrowth === 0 ? 'flat' : 'NOT flat'}), RSS growth ${rssGrowthMB.toFixed(1)} MB ` +
      `(${rssGrowthMB < RSS_BUDGET_MB ? 'within' : 'OVER'} the ${RSS_BUDGET_MB} MB budget)`,
  );
  model.dispose();
  return { samples, tensorGrowth, rssGrowthMB };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
