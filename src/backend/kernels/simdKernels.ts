/**
 * lazylens's own SIMD kernels for the wasm backend: the MLP's tanh GELU (with its bias, or gated)
 * and the norms, each one pass over tfjs's heap where tfjs runs six to nine kernels.
 *
 * The kernels are a small WebAssembly module (simd/lazylens.wat, compiled by
 * scripts/build-wasm.ts) that imports tfjs-backend-wasm's own memory, so it reads its inputs and
 * writes its outputs where tfjs keeps them: nothing is copied in or out. It is instantiated
 * asynchronously when wasm starts ({@link prepareSimdKernels}; browsers refuse to compile a module
 * over 4 KiB synchronously on the main thread), else synchronously on first use where the runtime
 * allows it (Node). Where it cannot be instantiated (a runtime without SIMD, a backend object not
 * shaped as tfjs 4.22's), the callers run their tfjs compositions instead.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActFn } from '../../core/config.js';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from './simd/lazylensWasm.js';
import { byteOffset, wasmBackendOf, type WasmBackendLike } from './wasmHeap.js';
import { fusedKernelsEnabled } from './webgpuProgram.js';

/** The module's exports (every pointer a byte offset in tfjs's heap; 0 for an absent input). */
interface SimdExports {
  gelu(x: number, bias: number, up: number, rows: number, cols: number, out: number): void;
  normalize(
    x: number,
    rows: number,
    d: number,
    eps: number,
    centre: number,
    scaleOut: number,
    out: number,
    w: number,
    b: number,
  ): void;
}

/**
 * The activations the module computes: GPT-2's tanh GELU (gelu_fast is the same function). SiLU
 * stays with tfjs's ops: its sigmoid kernel is fast enough that a first, one-vector form of the
 * module's loop was no faster than tfjs's three kernels (bench/elementwise.ts then: 8.2 against
 * 7.6 ms for a gated [472, 3072]).
 */
const TANH_GELUS: readonly (ActFn | null)[] = ['gelu_new', 'gelu_fast'];

/** The emscripten module object inside tfjs-backend-wasm's backend: where its memory is. */
interface EmscriptenModule {
  asm?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
}

// One instance per memory: a backend that is created again brings a new one.
const instances = new WeakMap<WebAssembly.Memory, SimdExports | null>();

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function binaryFor(memory: WebAssembly.Memory): Uint8Array<ArrayBuffer> {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return decode(shared ? KERNELS_SHARED_MEMORY : KERNELS_PLAIN_MEMORY);
}

function instantiate(memory: WebAssembly.Memory): SimdExports | null {
  try {
    const module = new WebAssembly.Module(binaryFor(memory));
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdExports;
  } catch {
    return null; // no SIMD here, or no synchronous compiling: the compositions run
  }
}

function memoryOf(backend: WasmBackendLike): WebAssembly.Memory | undefined {
  const emscripten = backend.wasm as unknown as EmscriptenModule;
  const memory = emscripten.asm?.memory ?? emscripten.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** Instantiates the kernels for the running wasm backend's memory, asynchronously (see above). */
export async function prepareSimdKernels(): Promise<void> {
  const memory = memoryOf(tf.backend() as unknown as WasmBackendLike);
  if (!memory || instances.has(memory)) return;
  try {
    const { instance } = await WebAssembly.instantiate(binaryFor(memory), { env: { memory } });
    instances.set(memory, instance.exports as unknown as SimdExports);
  } catch {
    instances.set(memory, null); // no SIMD here: the compositions run
  }
}

function kernelsFor(backend: WasmBackendLike): SimdExports | null {
  const memory = memoryOf(backend);
  if (!memory) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    kernels = instantiate(memory);
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The current backend's kernels, when it is wasm, fused forms are on and the module loads. */
function currentKernels(): SimdExports | null {
  if (!fusedKernelsEnabled() || tf.getBackend() !== 'wasm') return null;
  return kernelsFor(tf.backend() as unknown as WasmBackendLike);
}

/** Whether lazylens's SIMD kernels run now (see the module's header). */
export function simdKernelsActive(): boolean {
  return currentKernels() !== null;
}

function float32(...tensors: (tf.Tensor | undefined)[]): boolean {
  return tensors.every((t) => t === undefined || t.dtype === 'float32');
}

const ACTIVATION = 'LazylensSimdActivation';
const registered = new Set<string>();
const NORMALIZE = 'LazylensSimdNormalize';
/** A tensor's heap offset, or 0 when it is absent. */
function at(backend: WasmBackendLike, t: tf.TensorInfo | undefined): number {
  return t ? byteOffset(backend, t) : 0;
}

function activationKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const backend = wasmBackendOf(args);
  const { x, bias, up } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const input = x as tf.TensorInfo;
  const out = backend.makeOutput(input.shape, 'float32');
  const cols = input.shape[input.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : tf.util.sizeFromShape(input.shape) / cols;
  const kernels = kernelsFor(backend) as SimdExports;
  kernels.gelu(
    byteOffset(backend, input),
    at(backend, bias),
    at(backend, up),
    rows,
    cols,
    byteOffset(backend, out),
  );
  return out;
}

/**
 * Runs kernel `base` on the inputs given. Each set of present inputs is its own registered kernel
 * (`base_x_bias`, …), since tfjs saves a gradient's inputs by name and cannot save an absent one.
 */
function run(
  base: typeof ACTIVATION | typeof NORMALIZE,
  inputs: Record<string, tf.Tensor | undefined>,
  attrs: tf.NamedAttrMap,
): unknown {
  const present: tf.NamedTensorMap = {};
  for (const [name, t] of Object.entries(inputs)) if (t) present[name] = t;
  const names = Object.keys(present);
  const kernelName = [base, ...names].join('_');
  if (!registered.has(kernelName)) {
    registered.add(kernelName);
    const [kernelFunc, grad] =
      base === ACTIVATION ? [activationKernel, activationGrad] : [normalizeKernel, normalizeGrad];
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    tf.registerGradient({
      kernelName,
      inputsToSave: names,
      gradFunc: (dy, saved, a) => grad(dy, Object.fromEntries(names.map((n, i) => [n, saved[i]])), a),
    });
  }
  return tf.engine().runKernel(kernelName, present, attrs);
}

/**
 * `act(x + bias)`, or with `up` the gated `act(x) · up + bias`, as one SIMD kernel; undefined
 * where it does not run (not wasm, fused forms off, an activation it lacks, a dtype other than
 * float32), so the caller runs its composition. Shapes are the caller's to check. It runs under a
 * gradient tape too (its gradient is written in tfjs ops below), so a pass with gradients
 * computes the same values as one without: attribution patching subtracts the two.
 */
export function simdActivation(
  x: tf.Tensor,
  fn: ActFn | null,
  bias?: tf.Tensor,
  up?: tf.Tensor,
): tf.Tensor | undefined {
  if (!TANH_GELUS.includes(fn) || !float32(x, bias, up) || !currentKernels()) return undefined;
  return run(ACTIVATION, { x, bias, up }, {}) as tf.Tensor;
}

/** x [..., d] summed over every axis but the last: a bias's gradient. */
function sumRows(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.rank - 1];
  return tf.sum(tf.reshape(x, [-1, d]), 0);
}

/** The tanh GELU and its derivative at v, as tfjs ops. */
function geluAndSlope(v: tf.Tensor): [act: tf.Tensor, slope: tf.Tensor] {
  // v·sigmoid(z), z = v·(A + B·v²), so gelu′ = s + v·s·(1 − s)·(A + 3B·v²).
  const A = 2 * Math.sqrt(2 / Math.PI);
  const B = A * 0.044715;
  const v2 = tf.square(v);
  const z = tf.mul(v, tf.add(A, tf.mul(B, v2)));
  const dz = tf.add(A, tf.mul(3 * B, v2));
  const s = tf.sigmoid(z);
  const slope = tf.add(s, tf.mul(tf.mul(tf.mul(v, s), tf.sub(1, s)), dz));
  return [tf.mul(v, s), slope];
}

/** A gradient function per input, as tfjs's gradient functions return. */
type GradMap = Record<string, () => tf.Tensor>;

/** A kernel's gradient given its saved inputs by name. */
type NamedGrad = (
  dy: tf.Tensor | tf.Tensor[],
  saved: Record<string, tf.Tensor | undefined>,
  attrs: tf.NamedAttrMap,
) => GradMap;

const activationGrad: NamedGrad = (dy, { x: input, bias, up }) => {
  const x = input as tf.Tensor;
  const g = dy as tf.Tensor;
  if (up) {
    // y = act(x)·up + bias
    const [act, slope] = geluAndSlope(x);
    const grads: GradMap = { x: () => tf.mul(tf.mul(g, up), slope), up: () => tf.mul(g, act) };
    if (bias) grads.bias = () => sumRows(g);
    return grads;
  }
  // y = act(x + bias)
  const dv = (): tf.Tensor => tf.mul(g, geluAndSlope(bias ? tf.add(x, bias) : x)[1]);
  const grads: GradMap = { x: dv };
  if (bias) grads.bias = () => sumRows(dv());
  return grads;
};

function normalizeKernel(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const backend = wasmBackendOf(args);
  const { x, w, b } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { eps, centre } = args.attrs as { eps: number; centre: boolean };
  const input = x as tf.TensorInfo;
  const d = input.shape[input.shape.length - 1] ?? 1;
  const scale = backend.makeOutput([...input.shape.slice(0, -1), 1], 'float32');
  const out = backend.makeOutput(input.shape, 'float32');
  const rows = d === 0 ? 0 : tf.util.sizeFromShape(input.shape) / d;
  (kernelsFor(backend) as SimdExports).normalize(
    byteOffset(backend, input),
    rows,
    d,
    eps,
    centre ? 1 : 0,
    byteOffset(backend, scale),
    byteOffset(backend, out),
    at(backend, w),
    at(backend, b),
  );
  return [scale, out];
}

/**
 * A norm over the last axis as one SIMD kernel: `[scale, out]` with scale = sqrt(mean of squares
 * + eps) [..., 1] (of x less its mean when `centre`) and out = (x − mean) / scale · w + b (w and b
 * where given). Undefined where it does not run; it runs under a gradient tape too (see
 * {@link simdActivation}).
 */
export function simdNormalize(
  x: tf.Tensor,
  centre: boolean,
  eps: number,
  w?: tf.Tensor,
  b?: tf.Tensor,
): [scale: tf.Tensor, out: tf.Tensor] | undefined {
  if (x.rank === 0 || !float32(x, w, b) || !currentKernels()) return undefined;
  const [scale, out] = run(NORMALIZE, { x, w, b }, { eps, centre }) as tf.Tensor[];
  return [scale, out];
}

// With c = x − mean (or x), s = sqrt(mean(c²) + eps), n = c / s, out = n·w + b and upstream
// gradients ds (of the scale) and dout: dn = dout·w, and through n_j = c_j / s and
// ∂s/∂c_k = c_k / (d·s), dc = dn / s + (ds − Σ_j dn_j·n_j / s)·n / d. Centring subtracts the
// mean of dc.
const normalizeGrad: NamedGrad = (dy, { x, w, b }, attrs) => {
  const { eps, centre } = attrs as unknown as { eps: number; centre: boolean };
  const [ds, dout] = dy as tf.Tensor[];
  const input = x as tf.Tensor;
  const d = input.shape[input.rank - 1];
  const parts = (): { n: tf.Tensor; s: tf.Tensor } => {
    const c = centre ? tf.sub(input, tf.mean(input, -1, true)) : input;
    const s = tf.sqrt(tf.add(tf.mean(tf.square(c), -1, true), eps));
    return { n: tf.div(c, s), s };
  };
  const grads: GradMap = {
    x: () => {
      const { n, s } = parts();
      const dn = w ? tf.mul(dout, w) : dout;
      const along = tf.sub(ds, tf.div(tf.sum(tf.mul(dn, n), -1, true), s));
      const dc = tf.add(tf.div(dn, s), tf.mul(along, tf.div(n, d)));
      return centre ? tf.sub(dc, tf.mean(dc, -1, true)) : dc;
    },
  };
  if (w) grads.w = () => sumRows(tf.mul(dout, parts().n));
  if (b) grads.b = () => sumRows(dout);
  return grads;
};
