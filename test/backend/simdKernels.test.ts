// lazylens's SIMD kernels on wasm (src/backend/kernels/simdKernels.ts): the committed binary is
// the compiled source; the activation and norm kernels agree with the cpu backend's tfjs
// composition over row lengths that are and are not whole vectors, with and without bias, gated,
// at extreme values; they stand aside where they must (other activations, dtypes, gradients, fused
// forms off, other backends); a hook that replaces a norm's scale still takes effect; and the
// shared-memory variant computes the same as the plain one.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileKernels, moduleSource, MODULE_PATH, WAT_PATH } from '../../scripts/build-wasm.js';
import { selectBackend } from '../../src/backend/index.js';
import {
  activationComposition,
  biasActivation,
  gatedActivation,
  normalizeComposition,
  normalizeCore,
  setFusedKernels,
  simdNormalize,
  simdActivation,
  type NormKind,
} from '../../src/backend/kernels/index.js';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from '../../src/backend/kernels/simd/lazylensWasm.js';
import { HookedTransformer } from '../../src/index.js';
import { GPT2_TINY, maxAbsDiff } from '../helpers/golden.js';
import { onCpu } from '../helpers/onCpu.js';

/** Values a GELU treats specially: signed zeros, tiny, huge, the underflow edge, NaN, ±∞. */
const EXTREMES = [
  0,
  -0,
  1e-30,
  -1e-30,
  0.5,
  -0.5,
  5,
  -5,
  10,
  -10,
  20,
  -20,
  40,
  -40,
  43.4,
  -43.4,
  87.5,
  -87.5,
  88,
  -88,
  100,
  -100,
  1e30,
  -1e30,
  NaN,
  Infinity,
  -Infinity,
];

/** Deterministic values of `shape`, spread over ±`spread` (a few whole units, as activations are). */
function values(shape: number[], spread = 4, seed = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * spread),
    shape,
  );
}

/** Elementwise: NaN where the reference is NaN, equal infinities, else within tolerance. */
function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  relative: number,
  absolute: number,
): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      expect(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `element ${i}: ${g} for ${w}`).toBe(
        true,
      );
    } else {
      expect(Math.abs(g - w), `element ${i}: ${g} for ${w}`).toBeLessThanOrEqual(
        relative * Math.abs(w) + absolute,
      );
    }
  }
}

it('the committed module is the compiled source', async () => {
  const source = moduleSource(await compileKernels(readFileSync(WAT_PATH, 'utf8')));
  expect(source === readFileSync(MODULE_PATH, 'utf8'), 'run `npx tsx scripts/build-wasm.ts`').toBe(true);
});

it('the shared-memory build computes what the plain one does', () => {
  const run = (base64: string, memory: WebAssembly.Memory): Float32Array => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const kernels = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as {
      gelu(...args: number[]): void;
    };
    const heap = new Float32Array(memory.buffer);
    EXTREMES.forEach((v, i) => (heap[16 + i] = v));
    kernels.gelu(64, 0, 0, 1, EXTREMES.length, 512);
    return heap.slice(128, 128 + EXTREMES.length);
  };
  const plain = run(KERNELS_PLAIN_MEMORY, new WebAssembly.Memory({ initial: 1 }));
  const shared = run(
    KERNELS_SHARED_MEMORY,
    new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }),
  );
  expect(Array.from(shared)).toEqual(Array.from(plain));
  expect(plain[0]).toBe(0);
  expect(plain[4]).toBeCloseTo(
    0.5 * 0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (0.5 + 0.044715 * 0.125))),
    6,
  );
});

describe('the SIMD kernels on wasm', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });
  afterAll(() => setFusedKernels(true));

  describe('activation', () => {
    // [shape, activation]: rows whose length is and is not a multiple of four
    const cases: [number[], 'gelu_new' | 'gelu_fast'][] = [
      [[1, 1], 'gelu_new'],
      [[3, 7], 'gelu_new'],
      [[2, 5, 13], 'gelu_fast'],
      [[4, 768], 'gelu_new'],
      [[2, 3, 9], 'gelu_fast'],
      [[5, 64], 'gelu_new'],
    ];
    for (const [shape, fn] of cases) {
      const cols = shape[shape.length - 1];
      it(`${fn} [${shape.join(', ')}] with and without its bias, and gated`, async () => {
        const x = values(shape);
        const up = values(shape, 2, 7);
        const bias = values([cols], 1, 3);
        const probe = simdActivation(x, fn); // defined, so the checks below test the kernel
        expect(probe).toBeDefined();
        probe?.dispose();
        const plain = biasActivation(x, fn);
        const biased = biasActivation(x, fn, bias);
        const gated = gatedActivation(x, up, fn, bias);
        const want = {
          plain: await onCpu((t) => activationComposition(t, fn), x),
          biased: await onCpu((t, b) => activationComposition(tf.add(t, b), fn), x, bias),
          gated: await onCpu((t, u, b) => tf.add(tf.mul(activationComposition(t, fn), u), b), x, up, bias),
        };
        expectClose(await plain.data(), want.plain.values, 2e-6, 1e-7);
        expectClose(await biased.data(), want.biased.values, 2e-6, 1e-7);
        expectClose(await gated.data(), want.gated.values, 2e-6, 1e-7);
        expect(plain.shape).toEqual(shape);
        tf.dispose([x, up, bias, plain, biased, gated]);
      });
    }

    for (const fn of ['gelu_new', 'gelu_fast'] as const) {
      it(`${fn} at extreme values: zeros, underflow, overflow, NaN and infinities`, async () => {
        // One row as a whole vector plus a remainder, so both paths meet every value.
        const x = tf.tensor1d(EXTREMES);
        const ours = biasActivation(x, fn);
        const want = await onCpu((t) => activationComposition(t, fn), x);
        // Below e^-87 the kernel's exponential is 0 where tfjs's is a subnormal: absolute 1e-30.
        expectClose(await ours.data(), want.values, 2e-6, 1e-30);
        tf.dispose([x, ours]);
      });
    }
  });

  describe('normalize', () => {
    const kinds: NormKind[] = ['LN', 'LNPre', 'RMS', 'RMSPre'];
    // [shape, offset added to every value]: an offset makes centring matter
    const shapes: [number[], number][] = [
      [[3, 768], 3],
      [[2, 5, 13], -2],
      [[4, 1], 1],
      [[1, 3], 0],
    ];
    for (const kind of kinds) {
      for (const [shape, offset] of shapes) {
        it(`${kind} [${shape.join(', ')}]: its value and its scale`, async () => {
          const d = shape[shape.length - 1];
          const x = tf.tidy(() => tf.add(values(shape), offset));
          const w = kind === 'LN' || kind === 'RMS' ? values([d], 1, 5) : undefined;
          const b = kind === 'LN' ? values([d], 1, 9) : undefined;
          const spec = { kind, eps: 1e-5, w, b };
          const fused = simdNormalize(x, kind === 'LN' || kind === 'LNPre', 1e-5, w, b);
          expect(fused).toBeDefined();
          const [scale, normed] = fused as [tf.Tensor, tf.Tensor];
          const core = normalizeCore(x, spec);
          const inputs = [x, ...(w ? [w] : []), ...(b ? [b] : [])];
          const want = await onCpu(
            (t, ...wb) => normalizeComposition(t, { kind, eps: 1e-5, w: wb[0], b: wb[1] }),
            ...inputs,
          );
          const centred = kind === 'LN' || kind === 'LNPre';
          const wantScale = await onCpu(
            (t) =>
              tf.sqrt(
                tf.add(tf.mean(tf.square(centred ? tf.sub(t, tf.mean(t, -1, true)) : t), -1, true), 1e-5),
              ),
            x,
          );
          expect(scale.shape).toEqual([...shape.slice(0, -1), 1]);
          expect(normed.shape).toEqual(shape);
          expectClose(await scale.data(), wantScale.values, 1e-6, 1e-6);
          expectClose(await normed.data(), want.values, 1e-5, 1e-5);
          expectClose(await core.data(), want.values, 1e-5, 1e-5);
          tf.dispose([x, ...(w ? [w] : []), ...(b ? [b] : []), scale, normed, core]);
        });
      }
    }

    it('a constant row normalizes to zeros (the scale is sqrt(eps))', async () => {
      const x = tf.fill([2, 8], 3.5);
      const [scale, normed] = simdNormalize(x, true, 1e-5) as [tf.Tensor, tf.Tensor];
      expectClose(await scale.data(), [Math.sqrt(1e-5), Math.sqrt(1e-5)], 1e-6, 0);
      expect(Array.from(await normed.data())).toEqual(new Array(16).fill(0));
      tf.dispose([x, scale, normed]);
    });
  });

  describe('stands aside', () => {
    it('for activations it lacks, other dtypes, and with fused forms off', () => {
      const x = values([2, 8]);
      const ints = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
      expect(simdActivation(x, 'gelu')).toBeUndefined();
      expect(simdActivation(x, 'silu')).toBeUndefined();
      expect(simdActivation(x, 'relu')).toBeUndefined();
      expect(simdActivation(x, null)).toBeUndefined();
      expect(simdActivation(ints, 'gelu_new')).toBeUndefined();
      expect(simdNormalize(ints, true, 1e-5)).toBeUndefined();
      setFusedKernels(false);
      expect(simdActivation(x, 'gelu_new')).toBeUndefined();
      expect(simdNormalize(x, true, 1e-5)).toBeUndefined();
      setFusedKernels(true);
      tf.dispose([x, ints]);
    });

    it('on the cpu backend', async () => {
      await selectBackend({ backend: 'cpu' });
      try {
        const x = values([2, 8]);
        expect(simdActivation(x, 'gelu_new')).toBeUndefined();
        expect(simdNormalize(x, true, 1e-5)).toBeUndefined();
        x.dispose();
      } finally {
        await selectBackend({ backend: 'wasm' });
      }
    });
  });

  describe('under a gradient tape', () => {
    /** The gradients of `loss` at `xs` with fused forms on and off, and the loss's value both ways. */
    async function bothWays(
      loss: (...xs: tf.Tensor[]) => tf.Tensor,
      xs: tf.Tensor[],
    ): Promise<{ fused: number[][]; composed: number[][]; values: number[] }> {
      const run = async (on: boolean): Promise<[number[][], number]> => {
        setFusedKernels(on);
        try {
          const { value, grads } = tf.valueAndGrads(loss)(xs);
          const out: [number[][], number] = [
            await Promise.all(grads.map(async (g) => Array.from(await g.data()))),
            (await value.data())[0],
          ];
          tf.dispose([value, ...grads]);
          return out;
        } finally {
          setFusedKernels(true);
        }
      };
      const [fused, fusedValue] = await run(true);
      const [composed, composedValue] = await run(false);
      return { fused, composed, values: [fusedValue, composedValue] };
    }

    it('the kernels run, with the value they give outside it, and the composition’s gradients', async () => {
      const x = values([3, 10]);
      const up = values([3, 10], 2, 7);
      const bias = values([10], 1, 3);
      const c = values([3, 10], 1, 11);
      const outside = biasActivation(x, 'gelu_new', bias);
      let inside: number[] = [];
      const g = tf.grad((t: tf.Tensor) => {
        const y = biasActivation(t, 'gelu_new', bias);
        inside = Array.from(y.dataSync());
        return tf.sum(y);
      })(x);
      expect(inside).toEqual(Array.from(await outside.data())); // the kernel ran under the tape
      tf.dispose([outside, g]);
      for (const fn of ['gelu_new', 'gelu_fast'] as const) {
        const plain = await bothWays((t, b) => tf.sum(tf.mul(biasActivation(t, fn, b), c)), [x, bias]);
        const gated = await bothWays(
          (t, u, b) => tf.sum(tf.mul(gatedActivation(t, u, fn, b), c)),
          [x, up, bias],
        );
        for (const r of [plain, gated]) {
          r.fused.forEach((g, i) => expectClose(g, r.composed[i], 1e-5, 1e-6));
          expectClose([r.values[0]], [r.values[1]], 1e-5, 1e-6);
        }
      }
      tf.dispose([x, up, bias, c]);
    });

    for (const kind of ['LN', 'RMS', 'LNPre'] as NormKind[]) {
      it(`${kind}: the gradients of its scale and output`, async () => {
        const x = tf.tidy(() => tf.add(values([4, 12]), 1));
        const w = kind === 'LNPre' ? undefined : values([12], 1, 5);
        const b = kind === 'LN' ? values([12], 1, 9) : undefined;
        const cs = values([4, 1], 1, 2);
        const co = values([4, 12], 1, 4);
        const loss = (t: tf.Tensor, ...wb: tf.Tensor[]): tf.Tensor => {
          const [wt, bt] = [w && wb[0], b && wb[1]];
          const fused = simdNormalize(t, kind !== 'RMS', 1e-5, wt, bt);
          const [scale, out] = fused ?? [
            tf.sqrt(
              tf.add(
                tf.mean(tf.square(kind === 'RMS' ? t : tf.sub(t, tf.mean(t, -1, true))), -1, true),
                1e-5,
              ),
            ),
            normalizeComposition(t, { kind, eps: 1e-5, w: wt, b: bt }),
          ];
          return tf.add(tf.sum(tf.mul(scale, cs)), tf.sum(tf.mul(out, co)));
        };
        const r = await bothWays(loss, [x, ...(w ? [w] : []), ...(b ? [b] : [])]);
        r.fused.forEach((g, i) => expectClose(g, r.composed[i], 1e-4, 1e-5));
        tf.dispose([x, cs, co, ...(w ? [w] : []), ...(b ? [b] : [])]);
      });
    }
  });

  // Processed weights fold LN's affine away (LNPre); unprocessed, the kernel applies LN's w and b.
  for (const foldLn of [true, false]) {
    it(`a hook that replaces a norm’s scale takes effect on the fused path (${foldLn ? 'LNPre' : 'LN with w, b'})`, async () => {
      const model = await HookedTransformer.fromPretrained(GPT2_TINY, { foldLn });
      expect(model.cfg.normalizationType).toBe(foldLn ? 'LNPre' : 'LN');
      const tokens = [[3, 1, 4, 1, 5, 9]];
      const doubled = (s: tf.Tensor): tf.Tensor => tf.mul(s, 2);
      const run = (): Promise<tf.Tensor> =>
        model.runWithHooks(tokens, { fwdHooks: [['blocks.0.ln1.hook_scale', doubled]] });
      const fused = await run();
      setFusedKernels(false);
      const composed = await run();
      setFusedKernels(true);
      const plain = await model.forward(tokens);
      expect(await maxAbsDiff(fused, composed)).toBeLessThan(1e-4);
      expect(await maxAbsDiff(fused, plain)).toBeGreaterThan(1e-3); // the hook changed something
      tf.dispose([fused, composed, plain]);
      model.dispose();
    });
  }
});
