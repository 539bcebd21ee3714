// The demand-driven forward: `logits: 'last' | 'none'`, stopping after the last observed block,
// skipping unobserved hook points. Every shortcut must give what the full forward gives there.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { HookedTransformer, InvalidArgumentError, type PartialConfig } from '../../src/index.js';
import { describeBackends } from '../helpers/backends.js';

const SMALL: PartialConfig = { nLayers: 3, dModel: 16, nCtx: 12, dHead: 4, dVocab: 29 };
const ROTARY: PartialConfig = { ...SMALL, positionalEmbeddingType: 'rotary', rotaryDim: 4 };
const TOKENS = [
  [1, 2, 3, 4, 5, 6],
  [6, 5, 4, 3, 2, 1],
];

/** max |a − b|, counting equal infinities (masked attention scores) as no difference. */
async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.where(tf.equal(a, b), tf.zerosLike(a), tf.abs(tf.sub(a, b)))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

/** Row b of `x` [batch, pos, ...] at position positions[b], as [batch, 1, ...] (reference by concat). */
function rowsAt(x: tf.Tensor, positions: readonly number[]): tf.Tensor {
  return tf.tidy(() =>
    tf.concat(
      positions.map((p, b) => tf.slice(x, [b, p], [1, 1])),
      0,
    ),
  );
}

/** The kernels one async call runs, by name. */
async function kernelsOf(f: () => Promise<unknown>): Promise<string[]> {
  let out: unknown;
  const info = await tf.profile(async () => {
    out = await f();
    return [];
  });
  disposeAll(out);
  return info.kernels.map((k) => k.name);
}

/** Disposes a result: a tensor, or `{ logits, cache }`. */
function disposeAll(x: unknown): void {
  if (x instanceof tf.Tensor) x.dispose();
  else if (x && typeof x === 'object') {
    for (const v of Object.values(x)) {
      if (v instanceof tf.Tensor) v.dispose();
      else if (v && typeof v === 'object' && 'dispose' in v) (v as { dispose(): void }).dispose();
    }
  }
}

const count = (names: string[], kernel: string): number => names.filter((n) => n === kernel).length;
/** Matrix products run, whichever kernel ran them (wasm's dense layers are one BLAS kernel each). */
const PRODUCT_KERNELS = ['BatchMatMul', '_FusedMatMul', 'LazylensLinear', 'LazylensLinearBias'];
const products = (names: string[]): number => names.filter((n) => PRODUCT_KERNELS.includes(n)).length;

describeBackends('demand-driven forward', () => {
  it("logits 'last' is the full logits at the last column, for every family of positions", async () => {
    for (const cfg of [SMALL, ROTARY]) {
      const model = HookedTransformer.fromConfig(cfg, { seed: 4 });
      const full = await model.forward(TOKENS);
      const last = await model.forward(TOKENS, { logits: 'last' });
      expect(last.shape).toEqual([2, 1, 29]);
      const ref = rowsAt(full, [5, 5]);
      expect(await maxAbsDiff(last, ref)).toBeLessThan(1e-6);
      const hooked = await model.runWithHooks(TOKENS, { logits: 'last', fwdHooks: [] });
      expect(await maxAbsDiff(hooked, ref)).toBeLessThan(1e-6);
      tf.dispose([full, last, ref, hooked]);
      model.dispose();
    }
  });

  it("logits 'last' with a mask takes each row's last real token (right and left padding)", async () => {
    for (const cfg of [SMALL, ROTARY]) {
      const model = HookedTransformer.fromConfig(cfg, { seed: 5 });
      const right = [
        [1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1, 1],
      ];
      const left = [
        [0, 0, 1, 1, 1, 1],
        [1, 1, 1, 1, 1, 1],
      ];
      for (const [mask, lastPos] of [
        [right, [2, 5]],
        [left, [5, 5]],
      ] as const) {
        const full = await model.forward(TOKENS, { attentionMask: mask.map((r) => [...r]) });
        const last = await model.forward(TOKENS, { attentionMask: mask.map((r) => [...r]), logits: 'last' });
        const ref = rowsAt(full, lastPos);
        expect(await maxAbsDiff(last, ref)).toBeLessThan(1e-6);
        tf.dispose([full, last, ref]);
      }
      model.dispose();
    }
  });

  it("logits 'last' on padded text: right padding ends each row at its own last token, left at the last column", async () => {
    const model = await HookedTransformer.fromPretrained('test/fixtures/gpt2-tiny');
    const texts = ['The cat sat on the mat', 'A dog'];
    for (const side of ['right', 'left'] as const) {
      const ids = model.toTokens(texts, { paddingSide: side });
      const pos = ids.shape[1];
      const lengths = texts.map((t) => tf.tidy(() => model.toTokens(t).shape[1]));
      const lastPos = side === 'left' ? [pos - 1, pos - 1] : lengths.map((n) => n - 1);
      const full = await model.forward(texts, { paddingSide: side });
      const last = await model.forward(texts, { paddingSide: side, logits: 'last' });
      const ref = rowsAt(full, lastPos);
      expect(last.shape).toEqual([2, 1, model.cfg.dVocabOut]);
      expect(await maxAbsDiff(last, ref)).toBeLessThan(1e-5);
      tf.dispose([ids, full, last, ref]);
    }
    model.dispose();
  });

  it("runWithCache with logits 'last' keeps ln_final's hooks at every position and the cache unchanged", async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 6 });
    const full = await model.runWithCache(TOKENS);
    const last = await model.runWithCache(TOKENS, { logits: 'last' });
    expect([...last.cache.keys()]).toEqual([...full.cache.keys()]);
    for (const name of full.cache.keys()) {
      expect(await maxAbsDiff(last.cache.get(name), full.cache.get(name)), name).toBe(0);
    }
    expect(last.cache.get('ln_final.hook_scale').shape).toEqual([2, 6, 1]);
    const ref = rowsAt(full.logits, [5, 5]);
    expect(await maxAbsDiff(last.logits, ref)).toBeLessThan(1e-6);
    tf.dispose([full.logits, last.logits, ref]);
    full.cache.dispose();
    last.cache.dispose();
    model.dispose();
  });

  it("logits 'none' returns no logits and runs only the blocks the cache needs", async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 7 });
    const full = await model.runWithCache(TOKENS);
    const names = ['blocks.0.attn.hook_z', 'blocks.1.hook_resid_mid'];
    const part = await model.runWithCache(TOKENS, { logits: 'none', namesFilter: names });
    expect(part.logits).toBeUndefined();
    expect([...part.cache.keys()]).toEqual(names);
    for (const name of names) expect(await maxAbsDiff(part.cache.get(name), full.cache.get(name))).toBe(0);
    tf.dispose(full.logits);
    full.cache.dispose();
    part.cache.dispose();

    // The same work as stopping at block 2 by hand, and less than a full pass without logits.
    const demand = await kernelsOf(() =>
      model.runWithCache(TOKENS, { logits: 'none', namesFilter: 'blocks.1.hook_resid_mid' }),
    );
    const byHand = await kernelsOf(() =>
      model.runWithCache(TOKENS, { stopAtLayer: 2, namesFilter: 'blocks.1.hook_resid_mid' }),
    );
    const deep = await kernelsOf(() =>
      model.runWithCache(TOKENS, { logits: 'none', namesFilter: 'blocks.2.hook_resid_post' }),
    );
    const all = await kernelsOf(() =>
      model.runWithCache(TOKENS, { namesFilter: 'blocks.2.hook_resid_post' }),
    );
    expect(demand).toEqual(byHand);
    // 3 blocks of equal work; the full pass adds the unembedding.
    expect(products(demand) * 3).toBe(products(deep) * 2);
    expect(products(all)).toBe(products(deep) + 1);
    model.dispose();
  });

  it("logits 'none': hooks past the last observed block never fire; an ln_final hook means full depth", async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 8 });
    const fired: string[] = [];
    const seen = (a: tf.Tensor, { name }: { name: string }): void =>
      void fired.push(`${name}:${a.shape.join('x')}`);
    const out = await model.runWithHooks(TOKENS, {
      logits: 'none',
      fwdHooks: [[(n: string) => n.startsWith('blocks.0.') || n === 'hook_embed', seen]],
    });
    expect(out).toBeUndefined();
    expect(fired.some((f) => f.startsWith('blocks.0.hook_resid_post'))).toBe(true);
    // With a predicate over every name, every block would run: this one only matches block 0.
    fired.length = 0;
    const probe: string[] = [];
    await model.runWithHooks(TOKENS, {
      logits: 'none',
      fwdHooks: [
        [
          (n: string) => {
            probe.push(n);
            return n === 'blocks.0.hook_resid_pre';
          },
          seen,
        ],
      ],
    });
    // Names are matched once to plan the pass, then only block 0 and the embedding fire.
    const atRun = probe.slice(probe.lastIndexOf('hook_embed'));
    expect(atRun.some((n) => n.startsWith('blocks.1.') || n.startsWith('blocks.2.'))).toBe(false);
    expect(atRun.some((n) => n.startsWith('ln_final.'))).toBe(false);

    fired.length = 0;
    await model.runWithHooks(TOKENS, { logits: 'none', fwdHooks: [['ln_final.hook_scale', seen]] });
    expect(fired).toEqual(['ln_final.hook_scale:2x6x1']);
    const withLn = await kernelsOf(() =>
      model.runWithHooks(TOKENS, { logits: 'none', fwdHooks: [['ln_final.hook_scale', seen]] }),
    );
    const full = await kernelsOf(() => model.forward(TOKENS));
    expect(products(withLn)).toBe(products(full) - 1); // every block, no unembedding
    model.dispose();
  });

  it('with useAttnResult, hook_result is formed only when observed; the output is the same', async () => {
    const model = HookedTransformer.fromConfig({ ...SMALL, useAttnResult: true }, { seed: 9 });
    const withResult = await model.runWithCache(TOKENS);
    const without = await model.runWithCache(TOKENS, { namesFilter: (n) => !n.endsWith('hook_result') });
    expect(withResult.cache.has('blocks.0.attn.hook_result')).toBe(true);
    expect(await maxAbsDiff(withResult.logits, without.logits)).toBeLessThan(1e-5);
    const a = await maxAbsDiff(
      withResult.cache.get('blocks.2.hook_resid_post'),
      without.cache.get('blocks.2.hook_resid_post'),
    );
    expect(a).toBeLessThan(1e-5);
    tf.dispose([withResult.logits, without.logits]);
    withResult.cache.dispose();
    without.cache.dispose();
    const fused = await kernelsOf(() => model.forward(TOKENS));
    const perHead = await kernelsOf(() =>
      model.runWithCache(TOKENS, { namesFilter: 'blocks.1.attn.hook_result' }),
    );
    // per-head results are summed over heads: one Sum per block that forms them
    expect(count(perHead, 'Sum') - count(fused, 'Sum')).toBe(1);
    model.dispose();
  });

  it('cached activations share the forward tensors yet are owned apart: disposing logits or one entry spares the rest', async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 10 });
    // resid_post of block 0 is the very tensor block 1 sees as resid_pre; the residual returned at
    // stopAtLayer is the last resid_post.
    const { logits, cache } = await model.runWithCache(TOKENS, { stopAtLayer: 2 });
    const ref = cache.get('blocks.1.hook_resid_post').clone();
    logits.dispose();
    cache.get('blocks.0.hook_resid_post').dispose();
    expect(cache.get('blocks.1.hook_resid_pre').isDisposed).toBe(false);
    expect(await maxAbsDiff(cache.get('blocks.1.hook_resid_post'), ref)).toBe(0);
    ref.dispose();
    cache.dispose();
    model.dispose();
  });

  it('bad logits options are errors naming both options', async () => {
    const model = HookedTransformer.fromConfig(SMALL, { seed: 11 });
    await expect(model.forward(TOKENS, { logits: 'first' as never })).rejects.toThrow(
      /logits 'first' given; expected 'all', 'last' or 'none'/,
    );
    await expect(model.forward(TOKENS, { returnType: 'loss', logits: 'last' })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(model.runWithCache(TOKENS, { returnType: 'both', logits: 'none' })).rejects.toThrow(
      /returnType 'both' given with logits 'none'/,
    );
    await expect(model.forward(TOKENS, { logits: 'last', stopAtLayer: 1 })).rejects.toThrow(
      /logits 'last' given with stopAtLayer 1/,
    );
    await expect(
      model.forward(TOKENS, {
        logits: 'last',
        attentionMask: [
          [0, 0, 0, 0, 0, 0],
          [1, 1, 1, 1, 1, 1],
        ],
      }),
    ).rejects.toThrow(/row 0 of the attention mask marks no real token/);
    model.dispose();
  });
});
