// fromConfig: reproducible initialization for every seed, validation of the config, no leaks on failure.
import { expect, it } from 'vitest';
import { ConfigError, HookedTransformer } from '../../src/index.js';
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

  it('validates every config field, naming it, the value given and what is expected', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ nLayers: -1 }, /nLayers: given -1, expected a positive integer/],
      [{ nLayers: 1.5 }, /nLayers: given 1.5, expected a positive integer/],
      [{ nCtx: 0 }, /nCtx: given 0, expected a positive integer/],
      [{ dModel: 0 }, /dModel: given 0, expected a positive integer/],
      [{ dHead: 16 }, /nHeads: given 0, expected a positive integer \(by default dModel \/ dHead/],
      [{ eps: -1 }, /eps: given -1, expected a finite number > 0/],
      [{ eps: 0 }, /eps: given 0/],
      [
        { normalizationType: 'bogus' },
        /normalizationType: given 'bogus', expected one of 'LN', 'LNPre', 'RMS', 'RMSPre', null/,
      ],
      [{ actFn: 'bogus' }, /actFn: given 'bogus', expected one of 'gelu', 'gelu_new'/],
      [{ actFn: 'solu_ln' }, /actFn: given 'solu_ln'/],
      [{ dMlp: -5 }, /dMlp: given -5, expected a positive integer/],
      [{ dVocab: 0 }, /dVocab: given 0/],
      [
        { positionalEmbeddingType: 'learned' },
        /positionalEmbeddingType: given 'learned', expected one of 'standard', 'rotary'/,
      ],
      [
        { attnTypes: ['global', 'local'] },
        /attnTypes: given \['global', 'local'\], expected null or 1 entries/,
      ],
      [{ windowSize: 0 }, /windowSize: given 0/],
      [{ gatedMlp: 'yes' }, /gatedMlp: given 'yes', expected true or false/],
      [{ rotaryBase: -2 }, /rotaryBase: given -2/],
      [{ nLayer: 2 }, /unknown field 'nLayer'.*nLayers/],
    ];
    for (const [bad, message] of cases) {
      const cfg = { ...SMALL, ...bad } as never;
      expect(() => HookedTransformer.fromConfig(cfg), JSON.stringify(bad)).toThrow(ConfigError);
      expect(() => HookedTransformer.fromConfig(cfg), JSON.stringify(bad)).toThrow(message);
    }
  });
});
