// fromConfig: reproducible initialization for every seed, validation of the config, no leaks on failure.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

const SMALL = { nLayers: 1, dModel: 8, nCtx: 6, dHead: 4, dVocab: 11 };

async function weightsOf(model: HookedTransformer): Promise<number[]> {
  const out: number[] = [];
  for (const name of ['embed.W_E', 'blocks.0.attn.W_Q', 'blocks.0.mlp.W_in', 'unembed.W_U']) {
    out.push(...(await model.getParam(name).data()));
  }
  return out;
}

describeBackends('HookedTransformer.fromConfig', () => {
  it('is deterministic for every seed, 0 included; different seeds differ', async () => {
    const weights = async (seed: number): Promise<number[]> => {
      const model = HookedTransformer.fromConfig(SMALL, { seed });
      const w = await weightsOf(model);
      model.dispose();
      return w;
    };
    const zero = await weights(0);
    expect(await weights(0)).toEqual(zero);
    const one = await weights(1);
    expect(await weights(1)).toEqual(one);
    expect(one).not.toEqual(zero);
    // cfg.seed 0 and the default (no seed) are seed 0 too.
    const fromCfg = HookedTransformer.fromConfig({ ...SMALL, seed: 0 });
    expect(await weightsOf(fromCfg)).toEqual(zero);
    fromCfg.dispose();
    const byDefault = HookedTransformer.fromConfig(SMALL);
    expect(await weightsOf(byDefault)).toEqual(zero);
    byDefault.dispose();
  });
  it('a bad later shape frees every tensor already built', () => {
    // The leak check in test/helpers/setup.ts fails this test if any built tensor survives.
    expect(() => HookedTransformer.fromConfig({ ...SMALL, dMlp: -5 })).toThrow();
  });

  it('runWithHooks with returnType loss frees everything when a hook throws', async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 3 });
    const boom = (): never => {
      throw new Error('hook failed');
    };
    for (const returnType of ['loss', 'both', 'logits'] as const) {
      await expect(
        model.runWithHooks([[1, 2, 3]], { returnType, fwdHooks: [['blocks.0.hook_resid_pre', boom]] }),
      ).rejects.toThrow('hook failed');
      await expect(
        // A zero step fails inside the pass, while caching the first activation.
        model.runWithCache([[1, 2, 3]], { returnType, posSlice: { step: 0 } }),
      ).rejects.toThrow(/step/);
    }
    model.dispose();
  });
});
