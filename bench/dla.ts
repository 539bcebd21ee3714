/**
 * The end-to-end streaming job: last-token per-head direct logit attribution over `--prompts`
 * prompts (default 1,000) of 32–64 token ids, each with an answer id, read from JSON Lines and
 * written back as one line per prompt with its top-5 components. lazylens runs `streamDla` (src/
 * stream: streamCaches with only the needed activations → lastTokenDla → JSON Lines) on a
 * GPT-2-small-shaped random model; PyTorch runs the same job on the same prompts and shapes the
 * way one would write it there (bench/torch_dla.py: hooks only on the needed activations, last
 * position only, batches in file order), at one intra-op thread and at one per core, compared at
 * the faster (see torchThreadCounts). streamDla groups prompts by length within windows of 8
 * batches by default; PyTorch runs once more, at one intra-op thread, with the same grouping, to
 * show what the grouping gives a hand-written loop. Both time the whole job, files included, model
 * built before. The
 * prompts are run in ROUNDS parts, each by lazylens and then by PyTorch, and each side's parts are
 * summed: this machine's speed drifts over minutes (it is shared), and interleaving puts the
 * drift on both sides. Written to bench/results/dla-<backend>-<n>t.json.
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
  hasTorch,
  lcg,
  ratio,
  runPython,
  runTorchAtEachThreadCount,
  torchThreadCounts,
  writeResult,
} from './common.js';

const BATCH_SIZE = 8;
/** streamDla's default window (batches) for grouping prompts by length, given to PyTorch's extra run. */
const LENGTH_WINDOW = 8;

interface JobResult {
  seconds: number;
  prompts: number;
  tokens: number;
  components: number;
}

/** The job is run in this many parts, alternating lazylens and PyTorch. */
const ROUNDS = 4;

/**
 * `n` JSON lines `{"prompt": [ids…], "answer": id}`, prompts of 32–64 tokens, split into `parts`
 * files of whole batches (the last may be shorter); the files and the token count.
 */
function writePrompts(
  dir: string,
  n: number,
  vocab: number,
  parts: number,
): { files: string[]; tokens: number } {
  const next = lcg(2026);
  let tokens = 0;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 32 + next(33);
    tokens += len;
    lines.push(
      `${JSON.stringify({ prompt: Array.from({ length: len }, () => next(vocab)), answer: next(vocab) })}\n`,
    );
  }
  const per = Math.ceil(n / parts / BATCH_SIZE) * BATCH_SIZE;
  const files: string[] = [];
  for (let start = 0; start < n; start += per) {
    const file = `${dir}/prompts-${files.length}.jsonl`;
    writeFileSync(file, lines.slice(start, start + per).join(''));
    files.push(file);
  }
  return { files, tokens };
}

export async function main(): Promise<void> {
  const { prompts } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const dir = mkdtempSync(`${tmpdir()}/lazylens-bench-dla-`);
  try {
    const { files, tokens } = writePrompts(dir, prompts, GPT2_SMALL.dVocab, ROUNDS);
    const model = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
    const ours: JobResult = { seconds: 0, prompts: 0, tokens, components: 0 };
    let torchRuns: { threads: number; result: JobResult }[] | undefined;
    const torchGrouped: JobResult | undefined = hasTorch()
      ? { seconds: 0, prompts: 0, tokens: 0, components: 0 }
      : undefined;
    for (const [round, input] of files.entries()) {
      const t0 = performance.now();
      const table = await streamDla(model, input, `${dir}/lazylens-${round}.jsonl`, {
        components: 'heads',
        batchSize: BATCH_SIZE,
        topK: 5,
      });
      ours.seconds += (performance.now() - t0) / 1000;
      ours.prompts += table.prompts;
      ours.components = table.labels.length;
      const runs = runTorchAtEachThreadCount<JobResult>('torch_dla.py', (t) => [
        input,
        `${dir}/torch-${round}.jsonl`,
        '--threads',
        t,
        '--batch-size',
        BATCH_SIZE,
      ]);
      torchRuns = runs?.map((run, i) => {
        const sum = torchRuns?.[i]?.result;
        const r = run.result;
        return {
          threads: run.threads,
          result: sum
            ? {
                ...r,
                seconds: sum.seconds + r.seconds,
                prompts: sum.prompts + r.prompts,
                tokens: sum.tokens + r.tokens,
              }
            : r,
        };
      });
      if (torchGrouped) {
        const r = runPython<JobResult>('torch_dla.py', [
          input,
          `${dir}/torch-grouped-${round}.jsonl`,
          '--threads',
          1,
          '--batch-size',
          BATCH_SIZE,
          '--group-by-length',
          LENGTH_WINDOW,
        ]);
        torchGrouped.seconds += r.seconds;
        torchGrouped.prompts += r.prompts;
        torchGrouped.tokens += r.tokens;
        torchGrouped.components = r.components;
      }
    }
    model.dispose();
    const lines = files
      .map((_, round) => readFileSync(`${dir}/lazylens-${round}.jsonl`, 'utf8').trim().split('\n').length)
      .reduce((a, b) => a + b, 0);
    if (lines !== prompts) throw new Error(`streamDla wrote ${lines} lines for ${prompts} prompts`);
    const torch = torchRuns?.reduce((a, b) => (b.result.seconds < a.result.seconds ? b : a)).result;
    console.log(
      `\n### streaming last-token per-head DLA, ${prompts} prompts of 32–64 tokens, batch ${BATCH_SIZE}, in ${files.length} parts alternating lazylens and PyTorch, ` +
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
      if (torchGrouped) {
        show(
          `PyTorch as above, 1 intra-op thread, prompts grouped by length in windows of ${LENGTH_WINDOW} batches as streamDla`,
          torchGrouped,
        );
      }
      console.log(
        `\nprompts/s ratio lazylens / PyTorch at its faster setting: ${ratio(torch.seconds, ours.seconds)}`,
      );
      if (torchGrouped) {
        console.log(
          `prompts/s ratio lazylens / PyTorch given the same grouping: ${ratio(torchGrouped.seconds, ours.seconds)}`,
        );
      }
    } else {
      console.log('\n(PyTorch comparison skipped: /usr/bin/python3 has no torch)');
    }
    writeResult(`dla-${backend}-${threads}t`, {
      prompts,
      batchSize: BATCH_SIZE,
      lazylens: ours,
      torch: torchRuns ?? null,
      torchGrouped: torchGrouped ?? null,
      ratio: torch ? torch.seconds / ours.seconds : null,
      ratioGrouped: torchGrouped ? torchGrouped.seconds / ours.seconds : null,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
