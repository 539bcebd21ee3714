// Running a computation on tfjs's own wasm kernel in place of lazylens's replacement, and checking
// the replacement against it and the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { WasmKernelSwap } from '../../src/backend/kernels/wasmHeap.js';
import { onCpu } from './onCpu.js';

/** `f` on tfjs's own kernel of `swap`, the replacement put back afterwards. */
export function withTfjsKernel<T>(swap: WasmKernelSwap, f: () => T): T {
  swap.uninstall();
  try {
    return f();
  } finally {
    swap.install();
  }
}

/** Deterministic values for a tensor of `shape` and `dtype`. */
export function testTensor(shape: number[], dtype: tf.DataType): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 3 === 1 : i * 0.75 - 5));
  return tf.tensor(values as number[], shape, dtype);
}

/**
 * Expects `f(...inputs)` on wasm with `swap`'s replacement to equal, dtype, shape and values, the
 * cpu backend's result and (unless `tfjsToo` is false: where tfjs's own kernel is wrong) tfjs's
 * own wasm kernel's; and that nothing is left behind.
 */
export async function expectLikeCpuAndTfjs(
  swap: WasmKernelSwap,
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  tfjsToo = true,
): Promise<void> {
  const before = tf.memory().numTensors;
  const ours = f(...inputs);
  const values = Array.from(await ours.data());
  const cpu = await onCpu(f, ...inputs);
  expect(ours.dtype).toBe(inputs[0].dtype);
  expect(ours.shape).toEqual(cpu.shape);
  expect(values).toEqual(cpu.values);
  if (tfjsToo) {
    const own = withTfjsKernel(swap, () => f(...inputs));
    expect(ours.shape).toEqual(own.shape);
    expect(values).toEqual(Array.from(await own.data()));
    own.dispose();
  }
  ours.dispose();
  expect(tf.memory().numTensors).toBe(before);
}
