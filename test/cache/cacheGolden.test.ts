// Every ActivationCache method × flag against the PyTorch reference (scripts/goldens/make_cache_golden.py).
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Lazy } from '../../graph/index.js';
import { type ActivationCache, HookedTransformer } from '../../src/index.js';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';
import { describeBackends, WITH_WEBGPU } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const DIR = fileURLToPath(new URL('../fixtures/gpt2-tiny-golden/', import.meta.url));
type Args = Record<string, unknown>;
interface Case {
  id: string;
  cache: 'raw' | 'processed' | 'raw_b1' | 'processed_b1';
  method: string;
  args: Args;
  stack?: { method: string; args: Args };
  labels: string[] | null;
  shape: number[];
  note: string;
}
const CASES = JSON.parse(readFileSync(`${DIR}cache_cases.json`, 'utf8')) as Case[];
const TOL = 1e-4;

/** JSON args → the TypeScript API's options (directions become tensors from the golden file). */
function decode(args: Args, dirs: Map<string, tf.Tensor>): Args {
  const out: Args = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = k === 'projectOutputOnto' ? dirs.get(v as string) : v;
  }
  return out;
}

function call(cache: ActivationCache, method: string, args: Args, stack: Lazy | undefined): Lazy {
  // The returnLabels overloads do not apply here: no case sets returnLabels.
  const a = args as { returnLabels?: false };
  const x = args as { layer?: number; activationName?: string; tokens?: never };
  switch (method) {
    case 'accumulatedResid':
      return cache.accumulatedResid(a);
    case 'decomposeResid':
      return cache.decomposeResid(a);
    case 'stackHeadResults':
      return cache.stackHeadResults(a);
    case 'stackActivation':
      return cache.stackActivation(x.activationName as string, args);
    case 'getNeuronResults':
      return cache.getNeuronResults(x.layer as number, args);
    case 'stackNeuronResults':
      return cache.stackNeuronResults(x.layer, a);
    case 'applyLnToStack':
      return cache.applyLnToStack(stack as Lazy, args);
    case 'getFullResidDecomposition':
      return cache.getFullResidDecomposition(a);
    case 'logitAttrs':
      return cache.logitAttrs(stack as Lazy, x.tokens as never, args);
    default:
      throw new Error(`unknown method ${method}`);
  }
}

describeBackends(
  'ActivationCache against the PyTorch goldens',
  () => {
    const models = new Map<string, HookedTransformer>();
    let tokens: tf.Tensor;
    let first: tf.Tensor;
    const dirs = new Map<string, tf.Tensor>();
    let goldens: SafetensorsFile;

    beforeAll(async () => {
      goldens = await loadSafetensorsFile(`${DIR}cache_goldens.safetensors`);
      for (const name of ['dir.p1', 'dir.p3']) dirs.set(name, goldenTensor(goldens, name));
      tokens = goldenTensor(await golden('raw'), 'tokens');
      first = tokens.slice([0, 0], [1, -1]);
      models.set('raw', await HookedTransformer.fromPretrainedNoProcessing(GPT2_TINY));
      models.set('processed', await HookedTransformer.fromPretrained(GPT2_TINY));
    });

    afterAll(() => {
      for (const m of models.values()) m.dispose();
      tf.dispose([...dirs.values(), tokens, first]);
    });

    /** A fresh cache per case, so memoized results of one case cannot leak into the next. */
    async function cacheFor(kind: Case['cache']): Promise<ActivationCache> {
      const model = models.get(kind.replace('_b1', '')) as HookedTransformer;
      const run = kind.endsWith('_b1')
        ? await model.runWithCache(first, { removeBatchDim: true })
        : await model.runWithCache(tokens);
      run.logits.dispose();
      return run.cache;
    }

    it.each(CASES.map((c) => [`${c.id} ${c.method} ${c.cache} ${JSON.stringify(c.args)}`, c] as const))(
      '%s',
      async (_title, c) => {
        const cache = await cacheFor(c.cache);
        const stack = c.stack
          ? call(cache, c.stack.method, decode(c.stack.args, dirs), undefined)
          : undefined;
        const lazy = call(cache, c.method, decode(c.args, dirs), stack);
        expect([...lazy.shape]).toEqual(c.shape);
        if (c.labels) expect(lazy.labels).toEqual(c.labels);
        const got = lazy.tensor();
        const want = goldenTensor(goldens, c.id);
        const peak = tf.tidy(() => (want.size ? want.abs().max() : tf.scalar(0)));
        const scale = 1 + (await peak.data())[0];
        expect(await maxAbsDiff(got, want)).toBeLessThan(TOL * scale);
        tf.dispose([got, want, peak]);
        cache.dispose();
      },
    );
  },
  WITH_WEBGPU,
);
