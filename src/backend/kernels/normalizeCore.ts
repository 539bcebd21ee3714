/**
 * Layer norm and RMS norm over the last axis, with their affine weights: on webgpu one WGSL
 * kernel (one workgroup per row: a reduction for the mean, one for the squared deviations, then
 * the scaled, weighted row), on wasm one SIMD kernel (simdKernels.ts), elsewhere the plain tfjs
 * composition both are checked against. For use
 * when nothing observes the norm's `hook_scale` or `hook_normalized`.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../../errors.js';
import { simdNormalize } from './simdKernels.js';
import {
  registerWebGpuKernel,
  required,
  rowDispatch,
  useFusedKernel,
  type WebGpuProgram,
} from './webgpuProgram.js';

/** TransformerLens's normalization kinds: LN and LNPre centre first, the RMS kinds do not. */
export type NormKind = 'LN' | 'LNPre' | 'RMS' | 'RMSPre';

/** A norm's kind, epsilon and weights (`w` for LN and RMS, `b` for LN; the folded kinds have none). */
export interface NormSpec {
  readonly kind: NormKind;
  readonly eps: number;
  readonly w?: tf.Tensor;
  readonly b?: tf.Tensor;
}

/** Whether a norm of `kind` subtracts the mean first (LN and LNPre; the RMS kinds do not). */
export function centres(kind: NormKind): boolean {
  return kind === 'LN' || kind === 'LNPre';
}

function check(x: tf.Tensor, spec: NormSpec): void {
  const d = x.shape[x.rank - 1];
  const want: readonly string[] = { LN: ['w', 'b'], RMS: ['w'], LNPre: [], RMSPre: [] }[spec.kind];
  for (const name of ['w', 'b'] as const) {
    const t = spec[name];
    const ok = want.includes(name) ? t !== undefined && t.rank === 1 && t.shape[0] === d : t === undefined;
    if (!ok) {
      throw new InvalidArgumentError(
        `Normalization ${spec.kind} given ${name} ${t ? `[${t.shape.join(', ')}]` : 'none'}; expected ${want.includes(name) ? `[${d}]` : 'none'}.`,
      );
    }
  }
}

/** The norm as tfjs ops, the same sequence the forward's hooked norm runs. */
export function normalizeComposition(x: tf.Tensor, spec: NormSpec): tf.Tensor {
  check(x, spec);
  const centred = centres(spec.kind) ? tf.sub(x, tf.mean(x, -1, true)) : x;
  const scale = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), spec.eps));
  const normed = tf.div(centred, scale);
  if (spec.kind === 'RMS') return tf.mul(normed, spec.w as tf.Tensor);
  if (spec.kind === 'LN') return tf.add(tf.mul(normed, spec.w as tf.Tensor), spec.b as tf.Tensor);
  return normed;
}

const KERNEL = 'LazylensNormalize';

/**
 * WGSL that sums each thread's `value` over the workgroup (WG a power of two) into
 * `total_<value>`, in its own workgroup array `<value>Parts`: reusing one array for both
 * reductions gave a wrong second sum on Mesa's llvmpipe (the read of the first total was not
 * kept before the barrier that preceded the second reduction's writes).
 */
function reduceSum(value: string): string {
  const parts = `${value}Parts`;
  return `${parts}[tid] = ${value};
    workgroupBarrier();
    for (var half = WG / 2; half > 0; half /= 2) {
      if (tid < half) {
        ${parts}[tid] += ${parts}[tid + half];
      }
      workgroupBarrier();
    }
    let total_${value} = ${parts}[0];`;
}

class NormalizeProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'eps : f32,';
  private readonly wg: number;

  constructor(
    shape: number[],
    private readonly kind: NormKind,
  ) {
    const d = shape[shape.length - 1];
    this.wg = d >= 1024 ? 256 : d >= 256 ? 128 : 64;
    this.outputShape = shape;
    this.variableNames = [
      'X',
      ...(kind === 'LN' || kind === 'RMS' ? ['W'] : []),
      ...(kind === 'LN' ? ['B'] : []),
    ];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    ({ dispatch: this.dispatch, workgroupSize: this.workgroupSize } = rowDispatch(
      shape.reduce((a, n) => a * n, 1) / d,
      this.wg,
    ));
    this.shaderKey = `lazylensNormalize_${kind}_${d}_${this.wg}`;
  }

  getUserCode(): string {
    const d = this.outputShape[this.outputShape.length - 1];
    const centre = this.kind === 'LN' || this.kind === 'LNPre';
    const affine = this.kind === 'LN' ? ' * W[c] + B[c]' : this.kind === 'RMS' ? ' * W[c]' : '';
    return `
  const WG = ${this.wg};
  const D = ${d};
  var<workgroup> sumParts : array<f32, WG>;
  var<workgroup> squaresParts : array<f32, WG>;

  fn main(index : i32) {
    let base = (index / WG) * D;
    let tid = i32(localId.x);
    ${
      centre
        ? `var sum = 0.0;
    for (var c = tid; c < D; c += WG) {
      sum += X[base + c];
    }
    ${reduceSum('sum')}
    let mean = total_sum / f32(D);`
        : 'let mean = 0.0;'
    }
    var squares = 0.0;
    for (var c = tid; c < D; c += WG) {
      let centred = X[base + c] - mean;
      squares += centred * centred;
    }
    ${reduceSum('squares')}
    let scale = sqrt(total_squares / f32(D) + uniforms.eps);
    for (var c = tid; c < D; c += WG) {
      result[base + c] = (X[base + c] - mean) / scale${affine};
    }
  }
`;
  }
}

function registerNormalizeKernel(): void {
  registerWebGpuKernel(KERNEL, (inputs, attrs) => {
    const x = required(inputs, 'x');
    const { w, b } = inputs;
    const program = new NormalizeProgram(x.shape, attrs.kind as NormKind);
    return {
      program,
      inputs: [x, ...(w ? [w] : []), ...(b ? [b] : [])],
      uniforms: [{ type: 'float32', data: [attrs.eps as number] }],
    };
  });
}

/**
 * The norm of `x` over its last axis: one fused kernel on webgpu (see {@link useFusedKernel}) and
 * on wasm (simdKernels.ts), {@link normalizeComposition} elsewhere.
 */
export function normalizeCore(x: tf.Tensor, spec: NormSpec): tf.Tensor {
  check(x, spec);
  const simd = simdNormalize(x, centres(spec.kind), spec.eps, spec.w, spec.b);
  if (simd) {
    simd[0].dispose(); // the scale: nothing observes it here
    return simd[1];
  }
  if (!useFusedKernel()) return normalizeComposition(x, spec);
  registerNormalizeKernel();
  const inputs: tf.NamedTensorMap = { x };
  if (spec.w) inputs.w = spec.w;
  if (spec.b) inputs.b = spec.b;
  return tf.engine().runKernel<tf.Tensor>(KERNEL, inputs, { kind: spec.kind, eps: spec.eps });
}
