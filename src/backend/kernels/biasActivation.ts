/**
 * The MLP's nonlinearity with what surrounds it: `act(x + b)` (the bias of the input projection,
 * when nothing observes `hook_pre`, which holds x + b) and the gated form `act(gate) · up + b`.
 * tfjs runs each as up to nine kernels (the tanh GELU alone is six); on webgpu it is one WGSL
 * kernel, on wasm one SIMD kernel (simdKernels.ts) for GPT-2's tanh GELUs, elsewhere the
 * plain tfjs composition both are checked against.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActFn } from '../../core/config.js';
import { InvalidArgumentError } from '../../errors.js';
import { simdActivation } from './simdKernels.js';
import {
  f32,
  registerWebGpuKernel,
  required,
  SAFE_TANH,
  useFusedKernel,
  type WebGpuProgram,
} from './webgpuProgram.js';

/** The activations the kernel and the composition both implement. */
export type FusableActFn = Exclude<ActFn, 'solu_ln'>;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The nonlinearity as tfjs ops, by TransformerLens's name. */
export function activationComposition(x: tf.Tensor, fn: ActFn | null): tf.Tensor {
  switch (fn) {
    case 'gelu_new':
    case 'gelu_fast': {
      // The tanh approximation GPT-2 trained with (gelu_fast is the same formula rearranged),
      // 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), written as x·sigmoid(2u): the
      // same function (1 + tanh(u) = 2·sigmoid(2u)) in six kernels instead of eight, without
      // pow and tanh, which wasm runs as scalar loops (≈6× slower than this form there).
      const twoU = tf.mul(x, tf.add(2 * SQRT_2_OVER_PI, tf.mul(2 * SQRT_2_OVER_PI * 0.044715, tf.square(x))));
      return tf.mul(x, tf.sigmoid(twoU));
    }
    case 'gelu':
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case 'relu':
      return tf.relu(x);
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'solu_ln':
    case null:
      throw new Error(`activation function '${String(fn)}' is not supported yet`);
    default:
      return fn satisfies never;
  }
}

// WGSL of each activation of `v`. The exact GELU's erf is Abramowitz & Stegun 7.1.26 (absolute
// error below 1.5e-7), which is what tfjs's own backends evaluate.
const WGSL_ACT: Record<FusableActFn, string> = {
  gelu_new: `0.5 * v * (1.0 + safeTanh(${f32(SQRT_2_OVER_PI)} * (v + 0.044715 * v * v * v)))`,
  gelu_fast: `0.5 * v * (1.0 + safeTanh(${f32(SQRT_2_OVER_PI)} * (v + 0.044715 * v * v * v)))`,
  gelu: '0.5 * v * (1.0 + erfApprox(v / 1.4142135623730951))',
  relu: 'max(v, 0.0)',
  silu: 'v / (1.0 + exp(-v))',
};

const ERF = `
  fn erfApprox(x : f32) -> f32 {
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign(x) * (1.0 - poly * exp(-a * a));
  }
`;

const KERNEL = 'LazylensBiasActivation';

class BiasActivationProgram implements WebGpuProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  uniforms = 'n : i32,';

  constructor(
    shape: number[],
    private readonly fn: FusableActFn,
    private readonly gated: boolean,
    private readonly biased: boolean,
  ) {
    this.outputShape = shape;
    this.variableNames = ['X', ...(gated ? ['Up'] : []), ...(biased ? ['Bias'] : [])];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, n) => a * n, 1) / 64), 1, 1];
    this.shaderKey = `lazylensBiasActivation_${fn}_${Number(gated)}${Number(biased)}`;
  }

  getUserCode(): string {
    const bias = this.biased ? ' + Bias[index % n]' : '';
    const body = this.gated
      ? `let v = X[index];
      result[index] = ${WGSL_ACT[this.fn]} * Up[index]${bias};`
      : `let v = X[index]${bias};
      result[index] = ${WGSL_ACT[this.fn]};`;
    return `
  ${SAFE_TANH}
  ${ERF}
  fn main(index : i32) {
    let n = uniforms.n;
    if (index < uniforms.size) {
      ${body}
    }
  }
`;
  }
}

function registerBiasActivationKernel(): void {
  registerWebGpuKernel(KERNEL, (inputs, attrs) => {
    const x = required(inputs, 'x');
    const { up, bias } = inputs;
    const program = new BiasActivationProgram(x.shape, attrs.fn as FusableActFn, !!up, !!bias);
    return {
      program,
      inputs: [x, ...(up ? [up] : []), ...(bias ? [bias] : [])],
      uniforms: [{ type: 'int32', data: [x.shape[x.shape.length - 1]] }],
    };
  });
}

function fusable(fn: ActFn | null): fn is FusableActFn {
  return fn !== null && fn in WGSL_ACT;
}

function checkBias(x: tf.Tensor, bias: tf.Tensor | undefined): void {
  const n = x.shape[x.rank - 1];
  if (bias && (bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new InvalidArgumentError(`MLP bias given [${bias.shape.join(', ')}]; expected [${n}].`);
  }
}

/**
 * `act(x + bias)` (or `act(x)` without a bias): one fused kernel on webgpu (see
 * {@link useFusedKernel}) and, for the activations it has, on wasm; the composition elsewhere.
 */
export function biasActivation(x: tf.Tensor, fn: ActFn | null, bias?: tf.Tensor): tf.Tensor {
  checkBias(x, bias);
  const simd = simdActivation(x, fn, bias);
  if (simd) return simd;
  if (!useFusedKernel() || !fusable(fn)) return activationComposition(bias ? tf.add(x, bias) : x, fn);
  registerBiasActivationKernel();
  const inputs: tf.NamedTensorMap = bias ? { x, bias } : { x };
  return tf.engine().runKernel<tf.Tensor>(KERNEL, inputs, { fn });
}

/**
 * The gated MLP's `act(gate) · up + bias`: one fused kernel on webgpu and (for the tanh GELUs) on
 * wasm, the composition elsewhere.
 */
export function gatedActivation(
  gate: tf.Tensor,
  up: tf.Tensor,
  fn: ActFn | null,
  bias: tf.Tensor,
): tf.Tensor {
  checkBias(gate, bias);
  if (!gate.shape.every((n, i) => n === up.shape[i]) || gate.rank !== up.rank) {
    throw new InvalidArgumentError(
      `Gated MLP given gate [${gate.shape.join(', ')}] and up [${up.shape.join(', ')}]; expected equal shapes.`,
    );
  }
  const simd = simdActivation(gate, fn, bias, up);
  if (simd) return simd;
  if (!useFusedKernel() || !fusable(fn)) return tf.add(tf.mul(activationComposition(gate, fn), up), bias);
  registerBiasActivationKernel();
  return tf.engine().runKernel<tf.Tensor>(KERNEL, { x: gate, up, bias }, { fn });
}
