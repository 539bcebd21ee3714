import { expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import { hookShape } from '../../src/core/hookPoints.js';
import { describeBackends } from '../helpers/backends.js';

describeBackends('HookedTransformer.fromConfig', () => {
  it('caches every hook point with TransformerLens shapes and leaks nothing', async () => {
    const model = HookedTransformer.fromConfig(
      { nLayers: 2, dModel: 16, nCtx: 8, dHead: 4, dVocab: 23, useAttnResult: true },
      { seed: 1 },
    );
    const { logits, cache } = await model.runWithCache([
      [1, 2, 3, 4, 5],
      [5, 4, 3, 2, 1],
    ]);
    expect(logits.shape).toEqual([2, 5, 23]);
    expect([...cache.keys()]).toEqual(model.hookNames);
    for (const [name, t] of cache.items()) expect(t.shape, name).toEqual(hookShape(model.cfg, name, 2, 5));
    logits.dispose();
    cache.dispose();
    model.dispose();
  });
});
