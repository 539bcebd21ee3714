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
});
