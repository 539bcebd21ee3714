// No hidden copies: analyses that read a few columns of the unembedding (or a few positions of a
// large activation) must not run a kernel over the whole tensor. On wasm, `Slice` reads its whole
// input out of the heap first, and transposing W_U copies it whole; both showed up as the cost of
// a batch-1 last-position attribution. Checked structurally from tf.profile's kernel list (names
// and input shapes), never by timing, and against the plain tfjs result so values stay identical.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as g from '../../graph/index.js';
import { gathersRun } from '../../graph/takeRun.js';
import { applyPosSlice } from '../../src/model/posSlice.js';
import { HookedTransformer } from '../../src/index.js';
import { streamDla, type DlaLine } from '../../src/stream/streamDla.js';
import { describeBackends } from '../helpers/backends.js';

// A vocabulary large enough that one of its columns is a small part of a large W_U [32, 4096].
const CFG = {
  nLayers: 2,
  dModel: 32,
  nHeads: 2,
  dHead: 16,
  dMlp: 64,
  dVocab: 4096,
  nCtx: 16,
  actFn: 'gelu_new' as const,
};
const W_U_SHAPE = [CFG.dModel, CFG.dVocab].join();

interface KernelCall {
  name: string;
  inputs: string[];
}

/** The kernels `f` runs (name and input shapes), and what it returned. */
async function kernelsOf<T>(f: () => Promise<T> | T): Promise<{ kernels: KernelCall[]; result: T }> {
  let result: T | undefined;
  const info = await tf.profile(async () => {
    result = await f();
  });
  const kernels = info.kernels.map((k) => ({ name: k.name, inputs: k.inputShapes.map((s) => s.join()) }));
  return { kernels, result: result as T };
}

/** Kernels that read the whole of a tensor of `shape` (comma-joined) and are named by `names`. */
function over(kernels: KernelCall[], names: RegExp, shape: string): KernelCall[] {
  return kernels.filter((k) => names.test(k.name) && k.inputs.includes(shape));
}

describeBackends('no hidden copies of large tensors', () => {
  let model: HookedTransformer;
  const tokens = [[5, 900, 17, 2048, 33, 4000, 7, 1]];
  beforeAll(() => {
    model = HookedTransformer.fromConfig(CFG, { seed: 0 });
  });
  afterAll(() => model.dispose());

  it('the executor takes a small run of a large leaf by gather, a large run by slice, both exact', async () => {
    const big = tf.tidy(() => tf.reshape(tf.range(0, 64 * 2048, 1, 'float32'), [64, 2048]));
    const src = g.functionSource('t', (name) => (name === 'big' ? big : undefined));
    const leaf = g.leaf('big', src, { shape: [64, 2048] });
    expect(gathersRun([64, 2048], 2048, 1)).toBe(true);
    expect(gathersRun([64, 2048], 2048, 1024)).toBe(false);
    expect(gathersRun([4, 48, 64], 48, 1)).toBe(false); // small inputs: a slice is cheaper
    for (const [sl, want] of [
      [7, tf.slice(big, [0, 7], [64, 1])],
      [{ start: 100, stop: 140 }, tf.slice(big, [0, 100], [64, 40])],
      [{ start: 0, stop: 1500 }, tf.slice(big, [0, 0], [64, 1500])],
    ] as const) {
      const { kernels, result } = await kernelsOf(() => g.execute(g.slice(leaf, 1, sl)));
      const small = typeof sl === 'number' || sl.stop - sl.start <= 2048 / 32;
      expect(over(kernels, /^(Slice|StridedSlice)$/, '64,2048')).toHaveLength(small ? 0 : 1);
      expect(over(kernels, /^GatherV2$/, '64,2048')).toHaveLength(small ? 1 : 0);
      const flat = typeof sl === 'number' ? tf.reshape(want, [64]) : want;
      expect(await result.array()).toEqual(await flat.array());
      tf.dispose([result, want, flat]);
    }
    big.dispose();
  });

  it("runWithCache posSlice takes a large activation's last position by gather, a long run by slice", async () => {
    // [batch, pos, d_mlp] with 1 × 512 × 256 entries: large enough that a copy of all of it counts.
    const post = tf.tidy(() => tf.reshape(tf.range(0, 512 * 256, 1, 'float32'), [1, 512, 256]));
    const name = 'blocks.0.mlp.hook_post';
    for (const [ps, begin, size, gathers] of [
      [-1, 511, 1, true],
      [{ start: 3, stop: 9 }, 3, 6, true],
      [{ start: 0, stop: 500 }, 0, 500, false],
    ] as const) {
      const { kernels, result } = await kernelsOf(() => applyPosSlice(post, name, ps));
      expect(over(kernels, /^(Slice|StridedSlice)$/, '1,512,256')).toHaveLength(gathers ? 0 : 1);
      expect(over(kernels, /^GatherV2$/, '1,512,256')).toHaveLength(gathers ? 1 : 0);
      const want = tf.slice(post, [0, begin, 0], [1, size, 256]);
      expect(result.shape).toEqual(want.shape);
      expect(await result.array()).toEqual(await want.array());
      tf.dispose([result, want]);
    }
    post.dispose();
  });

  it('logitAttrs at the last position reads one column of W_U, not all of it', async () => {
    const { cache, logits } = await model.runWithCache(tokens);
    logits.dispose();
    const answer = 2049;
    const { kernels, result } = await kernelsOf(() =>
      cache.logitAttrs(cache.decomposeResid({ posSlice: -1 }), [answer], { posSlice: -1 }).tensor(),
    );
    expect(over(kernels, /Slice|Transpose|Tile|Unpack|SplitV/, W_U_SHAPE)).toEqual([]);
    expect(over(kernels, /^GatherV2$/, W_U_SHAPE)).toHaveLength(1);
    // Same values as attributing every position and keeping the last.
    const all = cache.logitAttrs(cache.decomposeResid(), [tokens[0].map(() => answer)]).tensor();
    const last = tf.tidy(() => tf.squeeze(tf.slice(all, [0, 0, tokens[0].length - 1], [-1, 1, 1]), [1, 2]));
    const got = (await result.array()) as number[][];
    const want = (await last.array()) as number[];
    got.forEach((row, i) => expect(row[0]).toBeCloseTo(want[i], 5));
    tf.dispose([result, all, last]);
    cache.dispose();
  });

  it('tokensToResidualDirections gathers columns instead of transposing W_U', async () => {
    const ids = [3, 4095, 77];
    const { kernels, result } = await kernelsOf(() => model.tokensToResidualDirections(ids));
    expect(over(kernels, /Transpose|Slice/, W_U_SHAPE)).toEqual([]);
    const want = tf.tidy(() =>
      tf.transpose(tf.gather(model.getParam('unembed.W_U'), tf.tensor1d(ids, 'int32'), 1)),
    );
    expect(await result.array()).toEqual(await want.array());
    tf.dispose([result, want]);
  });

  it('streamDla over a batch runs no kernel over the whole of W_U but the unembed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lazylens-copies-'));
    try {
      const input = join(dir, 'in.jsonl');
      writeFileSync(
        input,
        [
          // Equal lengths: one last position for the batch, read with a position slice.
          { prompt: [5, 6, 7, 8], answer: 1000 },
          { prompt: [9, 10, 11, 12], answer: 3000 },
          // Then a batch of one prompt: its one answer is a run of one column of W_U.
          { prompt: [20, 21, 22], answer: 4095 },
        ]
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n',
      );
      const { kernels } = await kernelsOf(() =>
        streamDla(model, input, join(dir, 'out.jsonl'), { components: 'heads', batchSize: 2 }),
      );
      const touching = kernels.filter((k) => k.inputs.includes(W_U_SHAPE));
      // The forward's unembedding is a matMul over W_U; the analysis reads its columns by gather.
      expect(touching.map((k) => k.name).filter((n) => !/MatMul|GatherV2/.test(n))).toEqual([]);
      const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as DlaLine).answerId)).toEqual([1000, 3000, 4095]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
