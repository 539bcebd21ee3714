// Hooks that stay on the model (addHook, resetHooks, withHooks): every entry point runs them, in
// TransformerLens's order, with a ctx per hook point that lasts until a reset.
import * as tf from '@tensorflow/tfjs';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeAll, expect, it } from 'vitest';
import type { HookFn } from '../../src/model/hooks.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';
import { streamCaches } from '../../src/stream/streamCaches.js';
import { useBatch } from '../../src/stream/index.js';
import { describeBackends } from '../helpers/backends.js';

const CFG = { nLayers: 2, dModel: 16, nCtx: 16, dHead: 4, nHeads: 4, dVocab: 30, actFn: 'gelu' } as const;
const IDS = [[1, 2, 3, 4, 5]];

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

describeBackends('lasting hooks', () => {
  let model: HookedTransformer;
  beforeAll(() => {
    model = HookedTransformer.fromConfig(CFG, { seed: 3 });
    return () => model.dispose();
  });
  afterEach(() => model.resetHooks({ includingPermanent: true }));

  const double: HookFn = (x) => tf.mul(x, 2);

  it('apply to forward, runWithCache (whose cache sees the patched value), generate and streams', async () => {
    const expected = await model.runWithHooks(IDS, { fwdHooks: [['blocks.1.hook_resid_pre', double]] });
    const plain = await model.forward(IDS);
    const remove = model.addHook('blocks.1.hook_resid_pre', double);
    const hooked = await model.forward(IDS);
    expect(await maxDiff(hooked, expected)).toBe(0);
    expect(await maxDiff(hooked, plain)).toBeGreaterThan(1e-3);

    const ref = await model.runWithCache(IDS, { namesFilter: ['blocks.0.hook_resid_post'] });
    const { logits, cache } = await model.runWithCache(IDS, { namesFilter: ['blocks.1.hook_resid_pre'] });
    const want = tf.mul(ref.cache.get('blocks.0.hook_resid_post'), 2);
    expect(await maxDiff(cache.get('blocks.1.hook_resid_pre'), want)).toBe(0);

    let calls = 0;
    model.addHook('blocks.0.hook_resid_pre', () => void calls++);
    await model.generate([[1, 2, 3]], { maxNewTokens: 2, temperature: 0 });
    expect(calls).toBeGreaterThanOrEqual(1);
    const before = calls;
    await lastValueFrom(
      streamCaches(
        model,
        [
          [1, 2],
          [3, 4, 5],
        ],
        { batchSize: 1 },
      ).pipe(
        useBatch((b) => b.index),
        toArray(),
      ),
    );
    expect(calls - before).toBe(2);
    remove();
    expect(model.hookCount()).toBe(1);
    tf.dispose([expected, plain, hooked, ref.logits, logits, want]);
    ref.cache.dispose();
    cache.dispose();
  }, 20000);

  it("run before a call's own hooks, in the order added (prepend puts one first)", async () => {
    const order: string[] = [];
    const tag =
      (t: string): HookFn =>
      () =>
        void order.push(t);
    model.addHook('blocks.0.hook_resid_pre', tag('a'));
    model.addHook('blocks.0.hook_resid_pre', tag('b'), { perma: true });
    model.addHook('blocks.0.hook_resid_pre', tag('first'), { prepend: true });
    const out = await model.runWithHooks(IDS, { fwdHooks: [['blocks.0.hook_resid_pre', tag('call')]] });
    out.dispose();
    expect(order).toEqual(['first', 'a', 'b', 'call']);
  });

  it('give each hook point one ctx, kept across calls and shared by its hooks, cleared by resetHooks', async () => {
    const seen: Record<string, unknown>[] = [];
    model.addHook(
      (n) => n.endsWith('hook_resid_pre'),
      (x, { name, layer, ctx }) => {
        ctx.calls = ((ctx.calls as number | undefined) ?? 0) + 1;
        ctx.name = name;
        ctx.layer = layer;
        seen.push(ctx);
      },
      { perma: true },
    );
    for (let i = 0; i < 2; i++) (await model.forward(IDS)).dispose();
    expect(seen).toHaveLength(4);
    expect(seen[0]).toBe(seen[2]);
    expect(seen[0]).not.toBe(seen[1]);
    expect(seen[2]).toEqual({ calls: 2, name: 'blocks.0.hook_resid_pre', layer: 0 });
    // A call's own hook at the same point sees the same ctx (TL's hook.ctx belongs to the point).
    let own: Record<string, unknown> | undefined;
    const out = await model.runWithHooks(IDS, {
      fwdHooks: [['blocks.1.hook_resid_pre', (x, h) => void (own = h.ctx)]],
    });
    out.dispose();
    expect(own).toBe(seen[3]);
    model.resetHooks();
    expect(model.hookCount()).toBe(1); // permanent: kept
    (await model.forward(IDS)).dispose();
    expect(seen.at(-2)).toEqual({ calls: 1, name: 'blocks.0.hook_resid_pre', layer: 0 });
    model.resetHooks({ includingPermanent: true });
    expect(model.hookCount()).toBe(0);
  });

  it('resetHooks removes by direction and keeps permanent hooks unless asked', () => {
    const noop: HookFn = () => undefined;
    model.addHook('hook_embed', noop);
    model.addHook('hook_embed', noop, { perma: true });
    model.addHook('hook_embed', noop, { dir: 'bwd' });
    model.resetHooks({ direction: 'fwd' });
    expect([model.hookCount('fwd'), model.hookCount('bwd')]).toEqual([1, 1]);
    model.resetHooks();
    expect([model.hookCount('fwd'), model.hookCount('bwd')]).toEqual([1, 0]);
    model.resetHooks({ includingPermanent: true });
    expect(model.hookCount()).toBe(0);
  });

  it('withHooks installs hooks for its body only, nests, and removes them when the body throws', async () => {
    const order: string[] = [];
    const tag =
      (t: string): HookFn =>
      () =>
        void order.push(t);
    model.addHook('hook_embed', tag('lasting'));
    const result = await model.withHooks({ fwdHooks: [['hook_embed', tag('outer')]] }, async (m) => {
      await m.withHooks({ fwdHooks: [['hook_embed', tag('inner')]] }, async (m2) => {
        (await m2.forward(IDS)).dispose();
      });
      (await m.forward(IDS)).dispose();
      return 42;
    });
    expect(result).toBe(42);
    expect(order).toEqual(['lasting', 'outer', 'inner', 'lasting', 'outer']);
    expect(model.hookCount()).toBe(1);
    await expect(
      model.withHooks({ fwdHooks: [['hook_embed', tag('x')]] }, () =>
        Promise.reject(new Error('body failed')),
      ),
    ).rejects.toThrow('body failed');
    expect(model.hookCount()).toBe(1);
  });

  it('a hook that throws inside withHooks leaves no hook installed and no tensor behind', async () => {
    const boom: HookFn = () => {
      throw new Error('hook failed');
    };
    await expect(
      model.withHooks({ fwdHooks: [['blocks.1.attn.hook_z', boom]], bwdHooks: [['hook_embed', boom]] }, (m) =>
        m.forward(IDS),
      ),
    ).rejects.toThrow('hook failed');
    expect(model.hookCount()).toBe(0);
  });

  it('reject unknown hook names with suggestions, unknown options and bad arguments', async () => {
    const noop: HookFn = () => undefined;
    expect(() => model.addHook('blocks.0.hook_resid_pr', noop)).toThrow(/blocks\.0\.hook_resid_pre/);
    expect(() => model.addHook('hook_embed', noop, { direction: 'bwd' } as never)).toThrow(
      /unknown option 'direction'/,
    );
    expect(() => model.addHook('hook_embed', noop, { dir: 'back' as never })).toThrow(
      /expected 'fwd' or 'bwd'/,
    );
    expect(() => model.addHook('hook_embed', 3 as never)).toThrow(/expected a function/);
    expect(() => model.resetHooks({ includePermanent: true } as never)).toThrow(
      /Did you mean 'includingPermanent'/,
    );
    await expect(
      model.withHooks({ fwdHooks: [['blocks.9.hook_z', noop]] }, () => Promise.resolve(1)),
    ).rejects.toThrow(/hook name/);
    await expect(model.withHooks({ fwd: [] } as never, () => Promise.resolve(1))).rejects.toThrow(
      /unknown option 'fwd'/,
    );
    expect(model.hookCount()).toBe(0);
  });
});
