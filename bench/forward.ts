/**
 * Forward and runWithCache throughput of a GPT-2-small-shaped random model (12 layers, d_model 768,
 * 12 heads, d_mlp 3072, vocab 50257) on the current backend (wasm by default): tokens/s and the
 * peak bytes tfjs held. When /usr/bin/python3 has torch, the same shapes run in PyTorch eager with
 * every activation captured by forward hooks (bench/torch_forward.py) and the ratio is printed.
 *
 * Run: npx tsx bench/forward.ts   (or npm run bench)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { HookedTransformer, selectBackend, type BackendName } from '../src/index.js';

const SHAPES: [number, number][] = [
  [1, 64],
  [8, 128],
];
const REPEATS = 3;

interface Row {
  what: string;
  batch: number;
  pos: number;
  tokPerSec: number;
  /** Peak tf bytes in MiB (the model's weights included); null where not measured. */
  peakMiB: number | null;
}

function randomTokens(batch: number, pos: number, vocab: number): number[][] {
  let s = 12345;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) % vocab;
  return Array.from({ length: batch }, () => Array.from({ length: pos }, next));
}

async function measure(what: string, batch: number, pos: number, run: () => Promise<void>): Promise<Row> {
  await run(); // warm-up: kernels compiled, buffers allocated once
  const t0 = performance.now();
  for (let i = 0; i < REPEATS; i++) await run();
  const seconds = (performance.now() - t0) / 1000 / REPEATS;
  const profile = await tf.profile(run);
  return { what, batch, pos, tokPerSec: (batch * pos) / seconds, peakMiB: profile.peakBytes / 2 ** 20 };
}

function torchRows(): Row[] | undefined {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const script = fileURLToPath(new URL('./torch_forward.py', import.meta.url));
  const out = execFileSync('/usr/bin/python3', [script, '--repeats', String(REPEATS)], { encoding: 'utf8' });
  return JSON.parse(out) as Row[];
}

export async function main(): Promise<void> {
  const backend: BackendName = await selectBackend({
    backend: (process.env.LAZYLENS_BACKEND as BackendName) ?? 'wasm',
  });
  const model = HookedTransformer.fromConfig(
    {
      nLayers: 12,
      dModel: 768,
      nHeads: 12,
      dHead: 64,
      dMlp: 3072,
      dVocab: 50257,
      nCtx: 1024,
      actFn: 'gelu_new',
    },
    { seed: 0 },
  );
  const rows: Row[] = [];
  for (const [batch, pos] of SHAPES) {
    const tokens = randomTokens(batch, pos, 50257);
    rows.push(
      await measure('lazylens forward', batch, pos, async () => {
        const logits = await model.forward(tokens);
        await logits.data();
        logits.dispose();
      }),
    );
    rows.push(
      await measure('lazylens runWithCache', batch, pos, async () => {
        const { logits, cache } = await model.runWithCache(tokens);
        await logits.data();
        logits.dispose();
        cache.dispose();
      }),
    );
  }
  model.dispose();
  const torch = torchRows();
  console.log(
    `\n### forward / runWithCache, GPT-2-small shape, backend ${backend}, mean of ${REPEATS} runs\n`,
  );
  console.log('| run | batch × pos | tokens/s | peak MiB |');
  console.log('|---|---|---|---|');
  for (const r of [...rows, ...(torch ?? [])]) {
    console.log(
      `| ${r.what} | ${r.batch} × ${r.pos} | ${r.tokPerSec.toFixed(0)} | ${r.peakMiB === null ? '—' : r.peakMiB.toFixed(0)} |`,
    );
  }
  if (torch) {
    console.log('\n| batch × pos | runWithCache tokens/s: lazylens / PyTorch eager with hooks |');
    console.log('|---|---|');
    for (const [batch, pos] of SHAPES) {
      const ours = rows.find((r) => r.what === 'lazylens runWithCache' && r.batch === batch && r.pos === pos);
      const theirs = torch.find((r) => r.what.includes('hooks') && r.batch === batch && r.pos === pos);
      if (ours && theirs)
        console.log(`| ${batch} × ${pos} | ${(ours.tokPerSec / theirs.tokPerSec).toFixed(3)} |`);
    }
  } else {
    console.log('\n(PyTorch comparison skipped: /usr/bin/python3 has no torch)');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
