// Activation patching through hooks, against the PyTorch reference (scripts/goldens/make_patch_golden.py).
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';
import { describeBackends } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const PATCH = fileURLToPath(new URL('../fixtures/gpt2-tiny-golden/patch.safetensors', import.meta.url));

describeBackends('activation patching', () => {
  let patch: SafetensorsFile;
  let prompts: tf.Tensor[];
  beforeAll(async () => {
    patch = await loadSafetensorsFile(PATCH);
  });

  async function setup(): Promise<{ model: HookedTransformer; clean: tf.Tensor; corrupt: tf.Tensor }> {
    const model = await HookedTransformer.fromPretrainedNoProcessing(GPT2_TINY);
    const tokens = goldenTensor(await golden('raw'), 'tokens');
    prompts = tf.split(tokens, 2, 0);
    tokens.dispose();
    return { model, clean: prompts[0], corrupt: prompts[1] };
  }

  it("patches one head's z from a second prompt, as the reference", async () => {
    const { model, clean, corrupt } = await setup();
    const { cache, logits } = await model.runWithCache(clean, { namesFilter: 'blocks.1.attn.hook_z' });
    const head2 = tf.tidy(() => tf.reshape(tf.equal(tf.range(0, 4, 1, 'int32'), 2), [1, 1, 4, 1]));
    const patched = await model.runWithHooks(corrupt, {
      fwdHooks: [
        ['blocks.1.attn.hook_z', (z) => tf.where(tf.broadcastTo(head2, z.shape), cache.get('z1'), z)],
      ],
    });
    const want = goldenTensor(patch, 'patch.logits_L1H2');
    expect(await maxAbsDiff(patched, want)).toBeLessThan(1e-4);
    tf.dispose([logits, patched, want, head2, ...prompts]);
    cache.dispose();
    model.dispose();
  });

  it('patches the residual stream at one position, as the reference', async () => {
    const { model, clean, corrupt } = await setup();
    const { cache: c2, logits: l2 } = await model.runWithCache(clean);
    const atPos3 = tf.tidy(() => tf.reshape(tf.equal(tf.range(0, 8, 1, 'int32'), 3), [1, 8, 1]));
    const patched = await model.runWithHooks(corrupt, {
      fwdHooks: [
        [
          (name) => name === 'blocks.1.hook_resid_pre',
          (x, { name }) => tf.where(tf.broadcastTo(atPos3, x.shape), c2.get(name), x),
        ],
      ],
    });
    const want = goldenTensor(patch, 'patch.logits_resid_pre1_pos3');
    expect(await maxAbsDiff(patched, want)).toBeLessThan(1e-4);
    tf.dispose([l2, patched, want, atPos3, ...prompts]);
    c2.dispose();
    model.dispose();
  });
});
