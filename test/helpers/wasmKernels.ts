// Running a computation on tfjs's own wasm kernel in place of lazylens's replacement.
import type { WasmKernelSwap } from '../../src/backend/kernels/wasmHeap.js';

/** `f` on tfjs's own kernel of `swap`, the replacement put back afterwards. */
export function withTfjsKernel<T>(swap: WasmKernelSwap, f: () => T): T {
  swap.uninstall();
  try {
    return f();
  } finally {
    swap.install();
  }
}
