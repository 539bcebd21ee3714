// llama2.c models through HookedTransformer against the run.c-style PyTorch reference
// (scripts/goldens/llama2c_reference.py): the tiny fixture always, the real stories260K when a
// copy of it is at hand (LAZYLENS_STORIES260K, else the project's shared models folder beside
// the repository; the checkpoint is never copied into the repository).
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const fixture = (rel: string): string => fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));
const STORIES =
  process.env.LAZYLENS_STORIES260K ??
  fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const HAVE_STORIES = existsSync(join(STORIES, 'stories260K.bin'));

interface Meta {
  prompt: string;
  prompt_ids: number[];
  continuation_ids: number[];
  new_tokens: number;
  text_as_run_c_prints: string;
  tokenizer_cases: { text: string; ids: number[] }[];
}
const readMeta = (name: string): Meta =>
  JSON.parse(readFileSync(fixture(`${name}-golden/meta.json`), 'utf8')) as Meta;

/** logits − logsumexp(logits): equal for any two logit vectors that differ by a per-row constant. */
async function logSoftmaxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [la, lb] = [tf.logSoftmax(a), tf.logSoftmax(b)];
  const d = await maxAbsDiff(la, lb);
  tf.dispose([la, lb]);
  return d;
}

/** The golden logits check, raw and processed, plus greedy generation, for one llama2.c model. */
function llama2cSuite(name: string, path: () => string, tol: number): void {
  let golden: SafetensorsFile;
  const meta = readMeta(name);
  beforeAll(async () => {
    golden = await loadSafetensorsFile(fixture(`${name}-golden/golden.safetensors`));
  });

  it('unprocessed logits equal the reference forward', async () => {
    const model = await HookedTransformer.fromPretrainedNoProcessing(path());
    const tokens = goldenTensor(golden, 'tokens');
    const want = goldenTensor(golden, 'logits');
    const got = await model.forward(tokens);
    const err = await maxAbsDiff(got, want);
    console.log(
      `${name}: max |logits − reference| = ${err.toExponential(2)} over ${tokens.shape[1]} positions`,
    );
    expect(err).toBeLessThan(tol);
    tf.dispose([tokens, want, got]);
    model.dispose();
  });

  it('processed (RMS folded, unembed centred) gives the same log-probabilities', async () => {
    const model = await HookedTransformer.fromPretrained(path());
    expect(model.cfg.normalizationType).toBe('RMSPre');
    expect(model.stateDict().has('blocks.0.ln1.w')).toBe(false);
    const tokens = goldenTensor(golden, 'tokens');
    const want = goldenTensor(golden, 'logits');
    const got = await model.forward(tokens);
    expect(await logSoftmaxDiff(got, want)).toBeLessThan(tol);
    tf.dispose([tokens, want, got]);
    model.dispose();
  });

  it('encodes the prompt and greedily continues it token for token', async () => {
    const model = await HookedTransformer.fromPretrained(path());
    for (const { text, ids } of meta.tokenizer_cases)
      expect(model.tokenizer?.encode(text), text).toEqual(ids);
    const prompt = model.toTokens(meta.prompt);
    expect(prompt.arraySync()).toEqual([meta.prompt_ids]);
    prompt.dispose();
    const ids = await model.generate([meta.prompt_ids], {
      maxNewTokens: meta.new_tokens,
      temperature: 0,
      stopAtEos: false,
    });
    expect(ids).toEqual([[...meta.prompt_ids, ...meta.continuation_ids]]);
    // the text form: prompt + continuation, BOS dropped, as run.c prints it
    const text = await model.generate(meta.prompt, { maxNewTokens: meta.new_tokens, temperature: 0 });
    expect(text).toBe(meta.text_as_run_c_prints);
    model.dispose();
  });
}

describeBackends('llama2c-tiny (folder with model.bin + tokenizer.bin)', () => {
  llama2cSuite('llama2c-tiny', () => fixture('llama2c-tiny'), 1e-4);

  it('loads the version 1 layout to the same model', async () => {
    const v0 = await HookedTransformer.fromPretrainedNoProcessing(fixture('llama2c-tiny'));
    const v1 = await HookedTransformer.fromPretrainedNoProcessing(fixture('llama2c-tiny/model-v1.bin'));
    expect(v1.tokenizer).toBeDefined();
    const [a, b] = [await v0.forward([[1, 5, 9, 260]]), await v1.forward([[1, 5, 9, 260]])];
    expect(await maxAbsDiff(a, b)).toBe(0);
    tf.dispose([a, b]);
    v0.dispose();
    v1.dispose();
  });
});

if (HAVE_STORIES) {
  describeBackends(
    'stories260K (LAZYLENS_STORIES260K)',
    () => llama2cSuite('stories260K', () => join(STORIES, 'stories260K.bin'), 2e-4),
    WASM_ONLY,
  );
} else {
  describe('stories260K', () => {
    it.skip(`skipped: ${STORIES} is absent (the sibling 'shared' folder of the repository)`, () => {});
  });
}
