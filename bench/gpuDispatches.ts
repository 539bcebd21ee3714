/**
 * `npx tsx bench/gpuDispatches.ts`: how many kernels one forward dispatches on webgpu (tf.profile's
 * kernel list), with lazylens's fused kernels off and on, for GPT-2-shaped models: `forward`
 * (nothing observed, so attention, norms and activations fuse) and `runWithCache` (every hook
 * observed: only the activations fuse). Counts do not depend on the adapter, so llvmpipe gives
 * the same numbers as a GPU. Options: `--backend webgpu|wasm` (default webgpu), `--out FILE`
 * (default test-artifacts/gpu-dispatches.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../src/backend/index.js';
import { setFusedKernels } from '../src/backend/kernels/index.js';
import { HookedTransformer } from '../src/index.js';
import type { PartialConfig } from '../src/core/config.js';

const MODELS: Record<string, PartialConfig> = {
  'gpt2-tiny shape (2 layers, d 64)': {
    nLayers: 2,
    dModel: 64,
    nHeads: 4,
    dHead: 16,
    dMlp: 256,
    dVocab: 500,
    nCtx: 64,
    actFn: 'gelu_new',
  },
  // GPT-2 small's depth and heads at a width llvmpipe runs quickly: the counts depend on the
  // layers, not the width (up to binding-limit splits, which a GPU does not need at this size).
  'gpt2-small depth (12 layers, 12 heads, d 96)': {
    nLayers: 12,
    dModel: 96,
    nHeads: 12,
    dHead: 8,
    dMlp: 384,
    dVocab: 500,
    nCtx: 64,
    actFn: 'gelu_new',
  },
};

interface Count {
  model: string;
  call: 'forward' | 'runWithCache';
  fused: boolean;
  /** tfjs kernels run (tf.profile), including those that dispatch nothing (Reshape, Identity). */
  kernels: number;
  /** GPU programs dispatched (webgpu's recordAndSubmit calls). */
  dispatches: number | null;
  perKind: Record<string, number>;
}

// Counts the programs the webgpu backend records: tf.profile also lists kernels that only
// relabel a buffer (Reshape) or share one (Identity) and dispatch nothing.
let dispatched = 0;
function countDispatches(): boolean {
  const backend = tf.backend() as unknown as Record<string, unknown>;
  const record = backend.recordAndSubmit;
  if (typeof record !== 'function') return false;
  backend.recordAndSubmit = function (this: unknown, ...args: unknown[]): unknown {
    dispatched++;
    return (record as (...a: unknown[]) => unknown).apply(this, args);
  };
  return true;
}

async function count(
  model: HookedTransformer,
  call: Count['call'],
  ids: number[][],
  gpu: boolean,
): Promise<Omit<Count, 'model' | 'fused'>> {
  // One warm-up, so the count excludes one-time uploads.
  const run = async (): Promise<tf.Tensor[]> => {
    if (call === 'forward') return [await model.forward(ids)];
    const { logits, cache } = await model.runWithCache(ids);
    cache.dispose();
    return [logits];
  };
  tf.dispose(await run());
  let out: tf.Tensor[] = [];
  dispatched = 0;
  const info = await tf.profile(async () => {
    out = await run();
    return out[0];
  });
  const names = info.kernels.map((k) => k.name);
  tf.dispose(out);
  const perKind: Record<string, number> = {};
  for (const n of names) perKind[n] = (perKind[n] ?? 0) + 1;
  return { call, kernels: names.length, dispatches: gpu ? dispatched : null, perKind };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'webgpu' },
      out: { type: 'string', default: 'test-artifacts/gpu-dispatches.json' },
    },
    strict: true,
  });
  await selectBackend({ backend: values.backend as BackendName });
  const gpu = countDispatches();
  const rows: Count[] = [];
  for (const [name, cfg] of Object.entries(MODELS)) {
    const model = HookedTransformer.fromConfig(cfg, { seed: 1 });
    const ids = [Array.from({ length: 16 }, (_, i) => (i * 37) % (cfg.dVocab ?? 1))];
    for (const fused of [false, true]) {
      setFusedKernels(fused);
      for (const call of ['forward', 'runWithCache'] as const) {
        rows.push({ model: name, fused, ...(await count(model, call, ids, gpu)) });
      }
    }
    model.dispose();
  }
  setFusedKernels(true);
  console.log(`kernels dispatched per call on ${tf.getBackend()} (1×16 tokens)`);
  console.log('model | call | tfjs kernels off → on | GPU dispatches off → on');
  for (const r of rows.filter((x) => !x.fused)) {
    const on = rows.find((x) => x.fused && x.model === r.model && x.call === r.call);
    console.log(
      `${r.model} | ${r.call} | ${r.kernels} → ${on?.kernels} | ${r.dispatches ?? '-'} → ${on?.dispatches ?? '-'}`,
    );
  }
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify({ backend: tf.getBackend(), rows }, null, 2));
}

await main();
