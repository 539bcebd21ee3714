// The model against the PyTorch reference: logits, loss, every hook, processed weights (tolerance 1e-4).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { HookedTransformer, type HookedTransformerConfig } from '../../src/index.js';
import { readHfConfig } from '../../src/loading/hfConfig.js';
import type { SafetensorsFile } from '../../src/loading/safetensors.js';
import { describeBackends, WITH_WEBGPU } from '../helpers/backends.js';
import { GPT2_TINY, golden, goldenStateDict, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-4;

describeBackends(
  'GPT-2 tiny against the PyTorch goldens',
  () => {
    let cfg: HookedTransformerConfig;
    let raw: SafetensorsFile;
    let processed: SafetensorsFile;
    beforeAll(async () => {
      cfg = await readHfConfig(GPT2_TINY, { useAttnResult: true });
      raw = await golden('raw');
      processed = await golden('processed');
    });

    for (const kind of ['raw', 'processed'] as const) {
      it(`${kind}: logits, loss and every hook activation match`, async () => {
        const file = kind === 'raw' ? raw : processed;
        const model = HookedTransformer.fromStateDict(
          cfg,
          goldenStateDict(raw),
          kind === 'raw' ? {} : HookedTransformer.DEFAULT_PROCESSING,
        );
        const tokens = goldenTensor(file, 'tokens');
        const { logits, cache } = await model.runWithCache(tokens);
        const hookNames = [...file.tensors.keys()].filter((n) => n.includes('hook_'));
        expect([...cache.keys()]).toEqual(hookNames);
        for (const name of hookNames) {
          const want = goldenTensor(file, name);
          expect(await maxAbsDiff(cache.get(name), want), name).toBeLessThan(TOL);
          want.dispose();
        }
        const wantLogits = goldenTensor(file, 'logits');
        expect(await maxAbsDiff(logits, wantLogits)).toBeLessThan(TOL);
        const loss = await model.forward(tokens, { returnType: 'loss' });
        const wantLoss = goldenTensor(file, 'loss');
        expect(await maxAbsDiff(loss, wantLoss)).toBeLessThan(TOL);
        tf.dispose([tokens, logits, wantLogits, loss, wantLoss]);
        cache.dispose();
        model.dispose();
      });
    }

    it('processing gives the reference processed state dict', async () => {
      const model = HookedTransformer.fromStateDict(
        cfg,
        goldenStateDict(raw),
        HookedTransformer.DEFAULT_PROCESSING,
      );
      const want = goldenStateDict(processed);
      expect([...model.stateDict().keys()].sort()).toEqual([...want.keys()].sort());
      for (const [name, t] of want) expect(await maxAbsDiff(model.getParam(name), t), name).toBeLessThan(TOL);
      tf.dispose([...want.values()]);
      model.dispose();
    });
  },
  WITH_WEBGPU,
);
