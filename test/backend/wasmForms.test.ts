// The forward's faster forms against the plain ops they replace: attention's batched products as
// a depthwise convolution on wasm (contractLast), GELU as x·sigmoid(2u), and the query/key/value
// weights laid out once per model (projectionWeights). Each must keep every value.
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { activationComposition, setFusedKernels } from '../../src/backend/kernels/index.js';
import { contractLast } from '../../src/backend/kernels/contractLast.js';
import { HookedTransformer } from '../../src/index.js';
import { runForward } from '../../src/model/forward.js';
import {
  buildProjectionWeights,
  flattenHeads,
  type ProjectionWeights,
} from '../../src/model/projectionWeights.js';
import { describeBackends } from '../helpers/backends.js';
import { withTfjsMatMul } from '../helpers/blas.js';
import { maxAbsDiff } from '../helpers/golden.js';

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** a · bᵀ per batch by explicit loops over the host arrays. */
function reference(a: tf.Tensor3D, b: tf.Tensor3D): Float32Array {
  const [B, M, K] = a.shape;
  const N = b.shape[1];
  const [x, y] = [a.dataSync(), b.dataSync()];
  const out = new Float32Array(B * M * N);
  for (let i = 0; i < B; i++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[(i * M + m) * K + k] * y[(i * N + n) * K + k];
        out[(i * M + m) * N + n] = s;
      }
  return out;
}

describeBackends('forms of the forward', (backend) => {
  // The first two are large enough for the convolution on wasm, the last is not. They run on tfjs's
  // own matMul kernel: with a BLAS library in place contractLast takes the matMul instead.
  const shapes: [number, number, number, number][] = [
    [12, 64, 64, 64],
    [6, 40, 128, 72],
    [4, 3, 5, 7],
  ];
  for (const [B, M, N, K] of shapes) {
    it(`contractLast [${B}, ${M}, ${K}] · [${B}, ${N}, ${K}]ᵀ equals the loops`, () => {
      const a = randn([B, M, K], 1) as tf.Tensor3D;
      const b = randn([B, N, K], 2) as tf.Tensor3D;
      const out = withTfjsMatMul(() => contractLast(a, b));
      expect(out.shape).toEqual([B, M, N]);
      const want = reference(a, b);
      const got = out.dataSync();
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([a, b, out]);
    });
  }

  it(`contractLast runs ${backend === 'wasm' ? 'a depthwise convolution' : 'a batched matMul'} here, and a matMul under the gradient tape`, () => {
    const a = randn([12, 64, 64], 3) as tf.Tensor3D;
    const b = randn([12, 64, 64], 4) as tf.Tensor3D;
    return (async () => {
      const plain = await tf.profile(() => withTfjsMatMul(() => contractLast(a, b)));
      const names = plain.kernels.map((k) => k.name);
      expect(names.includes('DepthwiseConv2dNative')).toBe(backend === 'wasm');
      tf.dispose(plain.result);
      // The gradient flows through the matMul form (the convolution's gradient kernels are not on wasm).
      const g = tf.grad((x: tf.Tensor) => tf.sum(contractLast(x as tf.Tensor3D, b)))(a);
      const want = tf.tidy(() => tf.matMul(tf.ones([12, 64, 64]), b));
      expect(await maxAbsDiff(g, want)).toBeLessThan(1e-4);
      setFusedKernels(false);
      try {
        const off = await tf.profile(() => contractLast(a, b));
        expect(off.kernels.map((k) => k.name)).not.toContain('DepthwiseConv2dNative');
        tf.dispose(off.result);
      } finally {
        setFusedKernels(true);
      }
      tf.dispose([a, b, g, want]);
    })();
  });

  it('gelu_new as x·sigmoid(2u) equals 0.5·x·(1 + tanh(u)) within 1e-6', async () => {
    const x = tf.tidy(() => tf.mul(randn([4096], 5), 4));
    const got = tf.tidy(() => activationComposition(x, 'gelu_new'));
    const want = tf.tidy(() => {
      const u = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(u)));
    });
    expect(await maxAbsDiff(got, want)).toBeLessThan(1e-6);
    tf.dispose([x, got, want]);
  });
});

describeBackends('query, key and value weights laid out once', () => {
  it('flattenHeads puts head i output j at column i·dh + j', () => {
    const w = randn([3, 5, 4], 6);
    const flat = flattenHeads(w);
    const [W, F] = [w.arraySync() as number[][][], flat.arraySync() as number[][]];
    expect(flat.shape).toEqual([5, 12]);
    for (let i = 0; i < 3; i++)
      for (let d = 0; d < 5; d++) for (let j = 0; j < 4; j++) expect(F[d][i * 4 + j]).toBe(W[i][d][j]);
    tf.dispose([w, flat]);
  });

  it('are built for every query, key and value weight (grouped ones included) and nothing else', () => {
    const model = HookedTransformer.fromConfig(
      {
        nLayers: 2,
        dModel: 16,
        nHeads: 4,
        dHead: 4,
        nKeyValueHeads: 2,
        dMlp: 32,
        dVocab: 11,
        nCtx: 8,
        actFn: 'silu',
        normalizationType: 'RMS',
        positionalEmbeddingType: 'rotary',
        rotaryDim: 4,
        gatedMlp: true,
      },
      { seed: 1 },
    );
    const laid = buildProjectionWeights(new Map(model.stateDict()));
    expect([...laid.keys()].sort()).toEqual(
      ['0', '1']
        .flatMap((l) => [`blocks.${l}.attn.W_Q`, `blocks.${l}.attn._W_K`, `blocks.${l}.attn._W_V`])
        .sort(),
    );
    expect(laid.get('blocks.1.attn._W_K')?.shape).toEqual([16, 8]);
    tf.dispose([...laid.values()]);
    model.dispose();
  });

  it('a model frees them with its parameters, and its forward equals one without them', async () => {
    const before = tf.memory().numTensors;
    const model = HookedTransformer.fromConfig(
      { nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 32, dVocab: 11, nCtx: 8 },
      { seed: 2 },
    );
    // parameters plus one laid-out weight per W_Q, W_K, W_V
    expect(tf.memory().numTensors - before).toBe(model.stateDict().size + 2 * 3);
    const tokens = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, 'int32');
    const params = new Map(model.stateDict());
    const laid = buildProjectionWeights(params);
    const pass = (projections?: ProjectionWeights): tf.Tensor =>
      tf.tidy(() => runForward(model.cfg, params, tokens, (_, a) => a, { projections }));
    const [withLayout, without] = [pass(laid), pass()];
    expect(await maxAbsDiff(withLayout, without)).toBeLessThan(1e-6);
    const viaModel = await model.forward([[1, 2, 3, 4, 5]]);
    expect(await maxAbsDiff(viaModel, without)).toBeLessThan(1e-6);
    tf.dispose([tokens, withLayout, without, viaModel, ...laid.values()]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
