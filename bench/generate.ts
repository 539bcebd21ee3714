/**
 * `generate` with and without the key/value cache, side by side in one run: tokens/s for
 * `--newTokens` (64) greedy tokens after a 64-token prompt, and the cost of one more token at
 * prompt lengths 16, 64 and 256 (with the cache it should not grow with the prompt; without it,
 * each step re-runs the whole sequence). Models: the shipped induction-2l (its n_ctx is 65, so it
 * runs 32 new tokens after 32 and no per-token table), a random model of its shape with n_ctx
 * 1024, and a GPT-2-small-shaped random model (12 layers, d_model 768). Results go to
 * bench/results/generate-<backend>-<threads>t.json (written once before the GPT-2 part, `complete: false`,
 * and again at the end).
 *
 * Run: npx tsx bench/generate.ts [--repeats 3] [--newTokens 64]   (or npm run bench -- generate)
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';
import type { PartialConfig } from '../src/core/config.js';
import { backendThreads, benchFlags, GPT2_SMALL, randomTokens, writeResult } from './common.js';

/** The shipped induction-2l's shape (attention-only, 2 layers, d_model 128) with room for 256 + 64 tokens. */
const INDUCTION_SHAPE: PartialConfig & { dVocab: number } = {
  nLayers: 2,
  dModel: 128,
  nHeads: 4,
  dHead: 32,
  dVocab: 356,
  nCtx: 1024,
  attnOnly: true,
  normalizationType: 'LN',
};

const PROMPT_LENGTHS = [16, 64, 256];

interface Throughput {
  model: string;
  prompt: number;
  newTokens: number;
  cache: boolean;
  tokPerSec: number;
}

interface PerToken {
  model: string;
  prompt: number;
  cache: boolean;
  /** Median milliseconds of one step after the prompt's own. */
  msPerToken: number;
}

/** Best-of-`repeats` seconds of one greedy generate call (after a two-token warm-up: both kinds of step). */
async function timeGenerate(
  model: HookedTransformer,
  prompt: number[][],
  maxNewTokens: number,
  useKvCache: boolean,
  repeats: number,
): Promise<number> {
  const run = (n = maxNewTokens): Promise<number[][]> =>
    model.generate(prompt, { maxNewTokens: n, doSample: false, stopAtEos: false, useKvCache });
  await run(Math.min(maxNewTokens, 2));
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

async function throughput(
  name: string,
  model: HookedTransformer,
  prompt: number,
  newTokens: number,
  repeats: number,
): Promise<Throughput[]> {
  const tokens = randomTokens(1, prompt, model.cfg.dVocab);
  const out: Throughput[] = [];
  for (const cache of [true, false]) {
    const seconds = await timeGenerate(model, tokens, newTokens, cache, repeats);
    out.push({ model: name, prompt, newTokens, cache, tokPerSec: newTokens / seconds });
    console.log(
      `  ${name}, ${prompt} + ${newTokens}, ${cache ? 'KV cache' : 'no cache'}: ${seconds.toFixed(2)} s`,
    );
  }
  return out;
}

/**
 * One more token's cost: the median time between the starts of consecutive steps after the
 * prompt's own (each step's forward fires `hook_embed` first, so a hook there timestamps it).
 * Differencing two generate calls instead would drown the cost in the prompt step's noise.
 */
async function perToken(
  name: string,
  model: HookedTransformer,
  k: { cache: number; noCache: number },
  repeats: number,
): Promise<PerToken[]> {
  const out: PerToken[] = [];
  const starts: number[] = [];
  const remove = model.addHook('hook_embed', () => void starts.push(performance.now()));
  try {
    for (const prompt of PROMPT_LENGTHS) {
      const tokens = randomTokens(1, prompt, model.cfg.dVocab);
      for (const cache of [true, false]) {
        const extra = cache ? k.cache : k.noCache;
        const run = (n: number): Promise<number[][]> =>
          model.generate(tokens, { maxNewTokens: n, doSample: false, stopAtEos: false, useKvCache: cache });
        await run(2); // warm-up: both kinds of step
        const steps: number[] = [];
        for (let r = 0; r < repeats; r++) {
          starts.length = 0;
          // 2 + extra new tokens: the steps after the prompt's start at starts[1], and the last
          // one's start bounds the step before it.
          await run(2 + extra);
          for (let i = 2; i < starts.length; i++) steps.push(starts[i] - starts[i - 1]);
        }
        steps.sort((a, b) => a - b);
        const msPerToken = steps[Math.floor(steps.length / 2)];
        out.push({ model: name, prompt, cache, msPerToken });
        console.log(
          `  ${name}, prompt ${prompt}, ${cache ? 'KV cache' : 'no cache'}: ${msPerToken.toFixed(1)} ms/token`,
        );
      }
    }
  } finally {
    remove();
  }
  return out;
}

/** Prints the tables of what was measured so far. */
function report(rates: readonly Throughput[], costs: readonly PerToken[]): void {
  console.log(
    `\n### generate, greedy, backend ${tf.getBackend()} on ${backendThreads()} thread(s); best of the timed runs\n`,
  );
  console.log('| model | prompt + new | tokens/s, KV cache | tokens/s, no cache | speed-up |');
  console.log('|---|---|---|---|---|');
  for (const r of rates.filter((x) => x.cache)) {
    const base = rates.find((x) => !x.cache && x.model === r.model && x.prompt === r.prompt);
    const speedup = base ? r.tokPerSec / base.tokPerSec : NaN;
    console.log(
      `| ${r.model} | ${r.prompt} + ${r.newTokens} | ${r.tokPerSec.toPrecision(3)} | ${base?.tokPerSec.toPrecision(3) ?? '—'} | ${speedup.toFixed(1)}× |`,
    );
  }
  console.log('\n| model | prompt | ms per new token, KV cache | ms per new token, no cache |');
  console.log('|---|---|---|---|');
  for (const c of costs.filter((x) => x.cache)) {
    const base = costs.find((x) => !x.cache && x.model === c.model && x.prompt === c.prompt);
    console.log(
      `| ${c.model} | ${c.prompt} | ${c.msPerToken.toFixed(1)} | ${base?.msPerToken.toFixed(1) ?? '—'} |`,
    );
  }
}

export async function main(): Promise<void> {
  const { repeats, newTokens } = benchFlags();
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName | undefined) ?? 'wasm',
  });
  const threads = backendThreads();
  const rates: Throughput[] = [];
  const costs: PerToken[] = [];

  const shipped = await HookedTransformer.fromPretrained('induction-2l');
  const half = Math.floor((shipped.cfg.nCtx - 1) / 2);
  rates.push(...(await throughput('induction-2l', shipped, half, half, repeats)));
  shipped.dispose();

  const small = HookedTransformer.fromConfig(INDUCTION_SHAPE, { seed: 0 });
  rates.push(...(await throughput('induction-2l shape, n_ctx 1024', small, 64, newTokens, repeats)));
  costs.push(
    ...(await perToken('induction-2l shape, n_ctx 1024', small, { cache: 32, noCache: 16 }, repeats)),
  );
  small.dispose();
  // Written now too: the GPT-2-small part can take long on a loaded machine.
  report(rates, costs);
  writeResult(`generate-${backend}-${threads}t`, { repeats, newTokens, rates, costs, complete: false });

  // GPT-2 small without the cache takes minutes per run here, so one timed run after the warm-up.
  const gpt2 = HookedTransformer.fromConfig(GPT2_SMALL, { seed: 0 });
  rates.push(...(await throughput('GPT-2-small shape', gpt2, 64, newTokens, 1)));
  costs.push(...(await perToken('GPT-2-small shape', gpt2, { cache: 8, noCache: 2 }, 1)));
  gpt2.dispose();

  report(rates, costs);
  writeResult(`generate-${backend}-${threads}t`, { repeats, newTokens, rates, costs, complete: true });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
