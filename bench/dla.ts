/**
 * The end-to-end streaming job: last-token per-head direct logit attribution over `--prompts`
 * prompts (default 1,000) of 32–64 token ids, each with an answer id, read from JSON Lines and
 * written back as one line per prompt with its top-5 components. lazylens runs `streamDla` (src/
 * stream: streamCaches with only the needed activations → lastTokenDla → JSON Lines) on a
 * GPT-2-small-shaped random model; PyTorch runs the same job on the same prompts and shapes the
 * way one would write it there (bench/torch_dla.py: hooks only on the needed activations, last
 * position only), at one intra-op thread and at one per core, compared at the faster
 * (see torchThreadCounts). Both time the whole job, files included, model built before.
 * Written to bench/results/dla-<backend>-<n>t.json.
 *
 * Run: npx tsx bench/dla.ts [--prompts 1000]   (or npm run bench -- dla --prompts 100)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';
import { streamDla } from '../src/stream/streamDla.js';
import {
  backendThreads,
  benchFlags,
  GPT2_SMALL,
  lcg,
  ratio,
  runTorchAtEachThreadCount,
  torchThreadCounts,
  writeResult,
} from './common.js';

const BATCH_SIZE = 8;

interface JobResult {
  seconds: number;
  prompts: number;
  tokens: number;
  components: number;
}

/** `n` JSON lines `{"prompt": [ids…], "answer": id}`, prompts of 32–64 tokens; their token count. */
function writePrompts(path: string, n: number, vocab: number): number {
  const next = lcg(2026);
  let tokens = 0;
  let text = '';
  for (let i = 0; i < n; i++) {
    const len = 32 + next(33);
    tokens += len;
    text += `${JSON.stringify({ prompt: Array.from({ length: len }, () => next(vocab)), answer: next(vocab) })}\n`;
  }
  writeFileSync(path, text);
  return tokens;
}

export async function main(): Promise<void> {
  const { prompts } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const dir = mkdtempSync(`${tmpdir()}/lazylens-bench-dla-`);
  try {
    const input = `${dir}/prompts.jsonl`;
    const tokens = writePrompts(input, prompts, GPT2_SMALL.dVocab);
    const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
    const t0 = performance.now();
    const table = await streamDla(model, input, `${dir}/lazylens.jsonl`, {
      components: 'heads',
      batchSize: BATCH_SIZE,
      topK: 5,
    });
    const ours: JobResult = {
      seconds: (performance.now() - t0) / 1000,
      prompts: table.prompts,
      tokens,
      components: table.labels.length,
    };
    model.dispose();
    const lines = readFileSync(`${dir}/lazylens.jsonl`, 'utf8').trim().split('\n').length;
    if (lines !== prompts) throw new Error(`streamDla wrote ${lines} lines for ${prompts} prompts`);
    // PyTorch at each thread setting (see torchThreadCounts); the faster is the reference.
    const torchRuns = runTorchAtEachThreadCount<JobResult>('torch_dla.py', (t) => [
      input,
      `${dir}/torch.jsonl`,
      '--threads',
      t,
      '--batch-size',
      BATCH_SIZE,
    ]);
    const torch = torchRuns?.reduce((a, b) => (b.result.seconds < a.result.seconds ? b : a)).result;
    console.log(
      `\n### streaming last-token per-head DLA, ${prompts} prompts of 32–64 tokens, batch ${BATCH_SIZE}, ` +
        `GPT-2-small shape; backend ${backend} on ${threads} thread(s)` +
        `${torchRuns ? `, PyTorch at ${torchThreadCounts().join(' and ')} intra-op thread(s) (OpenBLAS on every core)` : ''}\n`,
    );
    console.log('| job | components | seconds | prompts/s | tokens/s |');
    console.log('|---|---|---|---|---|');
    const show = (what: string, r: JobResult): void =>
      console.log(
        `| ${what} | ${r.components} | ${r.seconds.toFixed(1)} | ${(r.prompts / r.seconds).toFixed(2)} | ${(r.tokens / r.seconds).toFixed(0)} |`,
      );
    show('lazylens streamDla', ours);
    if (torchRuns && torch) {
      for (const run of torchRuns) {
        show(
          `PyTorch, hooks on needed activations, last position only, ${run.threads} intra-op thread(s)`,
          run.result,
        );
      }
      console.log(
        `\nprompts/s ratio lazylens / PyTorch at its faster setting: ${ratio(torch.seconds, ours.seconds)}`,
      );
    } else {
      console.log('\n(PyTorch comparison skipped: /usr/bin/python3 has no torch)');
    }
    writeResult(`dla-${backend}-${threads}t`, {
      prompts,
      batchSize: BATCH_SIZE,
      lazylens: ours,
      torch: torchRuns ?? null,
      ratio: torch ? torch.seconds / ours.seconds : null,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
