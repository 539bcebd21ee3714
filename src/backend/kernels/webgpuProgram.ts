/**
 * What lazylens's fused WebGPU kernels share: the shape of a tfjs-backend-webgpu program, running
 * one on the backend, registering a kernel for the `webgpu` backend only, and the switch that
 * decides whether a fused kernel runs at all.
 *
 * tfjs-backend-webgpu (4.22) runs a program through `backend.runWebGPUProgram(program, inputs,
 * dtype, uniforms)`: it prepends a header to the program's WGSL (one `array<f32>` or `array<i32>`
 * storage binding per name in `variableNames`, the output as `result`, and a `uniforms` struct
 * holding every input's and the output's shape, then the program's own `uniforms` fields), caches
 * the compiled pipeline under `shaderKey` plus the inputs' ranks and dtypes, and records the
 * dispatch into its current command encoder; the encoder is submitted in batches, so nothing here
 * waits for the GPU. The package is an optional dependency, so its types are restated here.
 */
import * as tf from '@tensorflow/tfjs';

/** A WGSL program in the form tfjs-backend-webgpu compiles and dispatches. */
export interface WebGpuProgram {
  /** Names of the input bindings, in the order the inputs are given. */
  variableNames: string[];
  outputShape: number[];
  /** Identifies the compiled shader: must change with everything baked into the WGSL. */
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** Whether the uniforms carry the output's element count as `size`. */
  size?: boolean;
  /** Extra fields of the uniforms struct, e.g. `eps : f32, window : i32,`. */
  uniforms?: string;
  getUserCode(): string;
}

/** One program-defined uniform, in the order of {@link WebGpuProgram.uniforms}. */
export interface Uniform {
  type: 'float32' | 'int32';
  data: number[];
}

interface WebGpuBackend {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    dtype: tf.DataType,
    uniforms?: Uniform[],
  ): tf.TensorInfo;
}

/**
 * One workgroup per row of `rows`: the program's `main(index)` gets the global invocation index,
 * so `index / workgroupSize` is the row even when the backend folds a long dispatch into 2-D.
 */
export function rowDispatch(
  rows: number,
  workgroup: number,
): Pick<WebGpuProgram, 'dispatch' | 'workgroupSize'> {
  return { dispatch: [rows, 1, 1], workgroupSize: [workgroup, 1, 1] };
}

/** A WGSL f32 literal (always with a decimal point or exponent). */
export function f32(x: number): string {
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * `tanh` that stays finite for large |x|: WGSL's builtin may be evaluated as a ratio of
 * exponentials that overflows to NaN on some drivers.
 */
export const SAFE_TANH = `
  fn safeTanh(x : f32) -> f32 {
    let e = exp(-2.0 * abs(x));
    return sign(x) * (1.0 - e) / (1.0 + e);
  }
`;

const registered = new Set<string>();

/** A kernel's required input (its op always passes it: a missing one is a bug). */
export function required(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`internal: kernel input '${name}' missing`);
  return t;
}

/** Runs `program` on `inputs` through the webgpu backend a kernel function was handed. */
export function runProgram(
  backend: unknown,
  program: WebGpuProgram,
  inputs: tf.TensorInfo[],
  uniforms: Uniform[] = [],
): tf.TensorInfo {
  return (backend as WebGpuBackend).runWebGPUProgram(program, inputs, 'float32', uniforms);
}

/**
 * Registers `kernelName` for the webgpu backend once; `build` turns the kernel's inputs and
 * attributes into a program, its inputs in binding order, and its uniforms.
 */
export function registerWebGpuKernel(
  kernelName: string,
  build: (
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap,
  ) => { program: WebGpuProgram; inputs: tf.TensorInfo[]; uniforms: Uniform[] },
): void {
  if (registered.has(kernelName)) return;
  registered.add(kernelName);
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const run = build(inputs, attrs ?? {});
      return runProgram(backend, run.program, run.inputs, run.uniforms);
    },
  });
}

let enabled = typeof process === 'undefined' || process.env.LAZYLENS_FUSED_KERNELS !== '0';

/**
 * Turns lazylens's backend-specific forms on or off: the fused WebGPU kernels, wasm's
 * convolution form of attention's products (`contractLast`) and their strided BLAS form
 * (`blasAttention.ts`). On by default;
 * `LAZYLENS_FUSED_KERNELS=0` starts with them off. Off, every backend runs the plain tfjs
 * composition: for comparisons and dispatch counts.
 * @param on whether the backend-specific forms run.
 */
export function setFusedKernels(on: boolean): void {
  enabled = on;
}

/**
 * Whether a fused kernel runs now: on the webgpu backend, when fused kernels are on, and outside
 * gradient recording (the fused kernels have no gradients; the compositions do).
 */
export function useFusedKernel(): boolean {
  return fusedFormOn('webgpu');
}

/** Whether the backend-specific forms are on (see {@link setFusedKernels}). */
export function fusedKernelsEnabled(): boolean {
  return enabled;
}

/**
 * Whether a backend-specific form of a composition runs now: on `backend`, when fused kernels are
 * on, and outside gradient recording (only the plain compositions are differentiated).
 */
export function fusedFormOn(backend: string): boolean {
  return enabled && tf.getBackend() === backend && tf.engine().state.gradientDepth === 0;
}
