/**
 * Memory of loading a half-precision checkpoint: peak RSS (the kernel's high-water mark, exact
 * even when loading blocks the event loop) and tf's bytes, for a Llama folder with random BF16
 * weights written by scripts/write-random-checkpoint.ts. Each scenario runs in its own process
 * so one's garbage never counts against another.
 *
 * Scenarios:
 * - `eager`: what loading did before reading lazily: the whole file read into memory, every
 *   tensor decoded to float32, then converted (readFile + readSafetensors + convertLlama).
 * - `lazy`: loadHfFolder: one tensor at a time, read by position and widened to float32.
 * - `fromPretrained`: HookedTransformer.fromPretrained as it is (host state dict kept while
 *   tensors are made, then weight processing).
 * - `move`: loadHfFolder + moveToTensors + fromStateDict: the host copy freed tensor by tensor.
 *
 * Run (not part of `npm run bench`: it writes ~2.2 GB to a temp dir and needs ~10 GB of memory):
 *   npx tsx bench/loadMemory.ts [--shape llama-1b|llama-250m] [--backend cpu|wasm] [--dir DIR]
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendName } from '../src/backend/index.js';
import { convertLlama } from '../src/loading/convertLlama.js';
import { hfConfigToConfig, readHfConfigJson } from '../src/loading/hfConfig.js';
import { loadHfFolder } from '../src/loading/loadFolder.js';
import { readSafetensors } from '../src/loading/safetensors.js';
import { moveToTensors } from '../src/loading/toTensor.js';
import { HookedTransformer } from '../src/model/HookedTransformer.js';
import { SHAPES, writeRandomCheckpoint, type ShapeName } from '../scripts/write-random-checkpoint.js';

const SCENARIOS = ['eager', 'lazy', 'fromPretrained', 'move'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Result {
  scenario: Scenario;
  backend: string;
  /** RSS after imports and backend start, before loading. */
  baselineRss: number;
  peakRss: number;
  /** Bytes of float32 host arrays the scenario ends with (0 once they are tensors). */
  hostBytes: number;
  tfBytes: number;
  seconds: number;
  error?: string;
}

const gb = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024; // reported in KiB

async function runScenario(scenario: Scenario, dir: string, backend: BackendName): Promise<Result> {
  await selectBackend({ backend });
  const baselineRss = process.memoryUsage.rss();
  const t0 = performance.now();
  let hostBytes = 0;
  let error: string | undefined;
  let model: HookedTransformer | undefined;
  try {
    if (scenario === 'eager') {
      const cfg = hfConfigToConfig(await readHfConfigJson(dir), { source: dir, modelName: 'bench' });
      const bytes = await readFile(join(dir, 'model.safetensors'));
      const sd = convertLlama(readSafetensors(bytes).tensors, cfg, { source: dir });
      for (const a of sd.values()) hostBytes += a.data.byteLength;
    } else if (scenario === 'lazy') {
      const { stateDict } = await loadHfFolder(dir);
      for (const a of stateDict.values()) hostBytes += a.data.byteLength;
    } else if (scenario === 'fromPretrained') {
      model = await HookedTransformer.fromPretrained(dir, { backend });
    } else {
      const loaded = await loadHfFolder(dir);
      const params = moveToTensors(loaded.stateDict);
      model = HookedTransformer.fromStateDict(loaded.cfg, params, {
        ...HookedTransformer.DEFAULT_PROCESSING,
        tokenizer: loaded.tokenizer,
      });
    }
  } catch (e) {
    error = (e as Error).message.split('\n')[0];
  }
  const seconds = (performance.now() - t0) / 1000;
  const tfBytes = tf.memory().numBytes;
  model?.dispose();
  return { scenario, backend, baselineRss, peakRss: peakRss(), hostBytes, tfBytes, seconds, error };
}

export async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const shape = flag('--shape', 'llama-1b') as ShapeName;
  const backend = flag('--backend', 'cpu') as BackendName;
  const dir = flag('--dir', join(tmpdir(), `lazylens-bench-${shape}`));
  if (!(shape in SHAPES))
    throw new Error(`--shape ${shape}; expected one of ${Object.keys(SHAPES).join(', ')}`);
  if (!existsSync(join(dir, 'model.safetensors'))) {
    console.log(`writing random BF16 ${shape} weights to ${dir} …`);
    writeRandomCheckpoint(dir, shape, 'BF16');
  }
  const only = flag('--scenario', '');
  const fileBytes = (await import('node:fs')).statSync(join(dir, 'model.safetensors')).size;
  console.log(`\n### loading ${shape} (BF16 safetensors, ${gb(fileBytes)}) on ${backend}\n`);
  console.log(
    '| scenario | peak RSS | RSS before loading | host float32 at end | tf bytes at end | time | result |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const scenario of only ? [only as Scenario] : SCENARIOS) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', scenario, dir, backend],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) {
      console.log(
        `| ${scenario} | – | – | – | – | – | process died (status ${child.status}, signal ${child.signal}): ${child.stderr.trim().split('\n').slice(-1)[0] ?? ''} |`,
      );
      continue;
    }
    const r = JSON.parse(line) as Result;
    console.log(
      `| ${r.scenario} | ${gb(r.peakRss)} | ${gb(r.baselineRss)} | ${gb(r.hostBytes)} | ${gb(r.tfBytes)} | ${r.seconds.toFixed(1)} s | ${r.error ?? 'ok'} |`,
    );
  }
}

if (process.argv[2] === '--child') {
  const [, scenario, dir, backend] = process.argv.slice(2);
  console.log(JSON.stringify(await runScenario(scenario as Scenario, dir, backend as BackendName)));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}
