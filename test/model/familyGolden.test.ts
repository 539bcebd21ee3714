// GPT-Neo, GPT-NeoX and Llama against the PyTorch goldens: conversion, logits, loss, every hook
// activation and the processed weights, raw and processed (tolerance 1e-4).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { HookedTransformer, type HookedTransformerConfig } from '../../src/index.js';
import { readHfConfig } from '../../src/loading/hfConfig.js';
import { loadHfFolder } from '../../src/loading/loadFolder.js';
import { describeBackends, WITH_WEBGPU } from '../helpers/backends.js';
import { FAMILIES, familyFolder, familyGolden } from '../helpers/familyGolden.js';
import { goldenStateDict, goldenTensor, maxAbsDiff } from '../helpers/golden.js';

const TOL = 1e-4;

/** Largest error seen per family and kind, printed once so the figures are on record. */
const worst = new Map<string, number>();

for (const family of FAMILIES) {
  describeBackends(
    `${family}-tiny against the PyTorch goldens`,
    (backend) => {
      let cfg: HookedTransformerConfig;
      beforeAll(async () => {
        cfg = await readHfConfig(familyFolder(family), { useAttnResult: true });
      });

      it('the Hugging Face conversion gives the reference TL state dict', async () => {
        const raw = await familyGolden(family, 'raw');
        const loaded = await loadHfFolder(familyFolder(family));
        const want = [...raw.tensors.keys()].filter((n) => n.startsWith('state.')).map((n) => n.slice(6));
        expect([...loaded.stateDict.keys()].sort()).toEqual(want.sort());
        for (const name of want) {
          const got = loaded.stateDict.get(name)!;
          const ref = raw.tensors.get(`state.${name}`)!;
          expect(got.shape, name).toEqual(ref.shape);
          expect(Array.from(got.data), name).toEqual(Array.from(ref.data));
        }
      });

      for (const kind of ['raw', 'processed'] as const) {
        it(`${kind}: logits, loss and every hook activation match`, async () => {
          const file = await familyGolden(family, kind);
          const model = HookedTransformer.fromStateDict(
            cfg,
            goldenStateDict(await familyGolden(family, 'raw')),
            kind === 'raw' ? {} : HookedTransformer.DEFAULT_PROCESSING,
          );
          const tokens = goldenTensor(file, 'tokens');
          const { logits, cache } = await model.runWithCache(tokens);
          const hookNames = [...file.tensors.keys()].filter((n) => n.includes('hook_'));
          expect([...cache.keys()]).toEqual(hookNames);
          expect(model.hookNames).toEqual(hookNames);
          let most = 0;
          for (const name of hookNames) {
            const want = goldenTensor(file, name);
            const err = await maxAbsDiff(cache.get(name), want);
            expect(err, name).toBeLessThan(TOL);
            most = Math.max(most, err);
            want.dispose();
          }
          const wantLogits = goldenTensor(file, 'logits');
          const logitErr = await maxAbsDiff(logits, wantLogits);
          expect(logitErr).toBeLessThan(TOL);
          // Nothing observed: on webgpu attention, norms and activations run as fused kernels.
          const plain = await model.forward(tokens);
          expect(await maxAbsDiff(plain, wantLogits)).toBeLessThan(TOL);
          plain.dispose();
          const loss = await model.forward(tokens, { returnType: 'loss' });
          const wantLoss = goldenTensor(file, 'loss');
          expect(await maxAbsDiff(loss, wantLoss)).toBeLessThan(TOL);
          worst.set(`${family} ${kind} [${backend}]`, Math.max(most, logitErr));
          console.log(
            `${family} ${kind} [${backend}]: max |logits err| ${logitErr.toExponential(2)}, max |hook err| ${most.toExponential(2)}`,
          );
          tf.dispose([tokens, logits, wantLogits, loss, wantLoss]);
          cache.dispose();
          model.dispose();
        });
      }

      it('processing gives the reference processed state dict', async () => {
        const model = HookedTransformer.fromStateDict(
          cfg,
          goldenStateDict(await familyGolden(family, 'raw')),
          HookedTransformer.DEFAULT_PROCESSING,
        );
        const want = goldenStateDict(await familyGolden(family, 'processed'));
        expect([...model.stateDict().keys()].sort()).toEqual([...want.keys()].sort());
        for (const [name, t] of want)
          expect(await maxAbsDiff(model.getParam(name), t), name).toBeLessThan(TOL);
        tf.dispose([...want.values()]);
        model.dispose();
      });

      it('fromPretrained on the folder gives the processed logits', async () => {
        const model = await HookedTransformer.fromPretrained(familyFolder(family));
        const file = await familyGolden(family, 'processed');
        const tokens = goldenTensor(file, 'tokens');
        const want = goldenTensor(file, 'logits');
        const got = await model.forward(tokens);
        expect(await maxAbsDiff(got, want)).toBeLessThan(TOL);
        tf.dispose([tokens, want, got]);
        model.dispose();
      });
    },
    WITH_WEBGPU,
  );
}
