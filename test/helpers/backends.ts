// Runs a describe block once per backend (one suite, every backend): wasm always, cpu where the suite is cheap, and
// webgpu (Dawn; Mesa's llvmpipe on machines without a GPU) for the suites chosen to run there.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, inject } from 'vitest';
import { selectBackend, type BackendName } from '../../src/backend/index.js';

export const TEST_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/** Suites too slow for the pure-JS cpu backend run on wasm only. */
export const WASM_ONLY: readonly BackendName[] = ['wasm'];

/**
 * Suites that also run on webgpu. llvmpipe runs every shader on two CPU cores and compiles one per
 * op and shape, so only the suites that check correctness across families, the cache, the planner
 * and streaming run there, on the tiny fixtures.
 */
export const WITH_WEBGPU: readonly BackendName[] = ['wasm', 'cpu', 'webgpu'];
export const WASM_AND_WEBGPU: readonly BackendName[] = ['wasm', 'webgpu'];

/** Why webgpu suites are skipped in this run (no adapter, or turned off), or `null`. */
export const WEBGPU_SKIP_REASON: string | null = inject('webgpuSkipReason');

/** `describe` the suite on each backend in `backends`, switching tf's backend before it runs. */
export function describeBackends(
  title: string,
  body: (backend: BackendName) => void,
  backends: readonly BackendName[] = TEST_BACKENDS,
): void {
  for (const backend of backends) {
    if (backend === 'webgpu' && WEBGPU_SKIP_REASON !== null) {
      describe.skip(`${title} [webgpu] (skipped: ${WEBGPU_SKIP_REASON})`, () => body(backend));
      continue;
    }
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await selectBackend({ backend });
        if (tf.getBackend() !== backend) throw new Error(`backend ${backend} did not start`);
      });
      body(backend);
    });
  }
}
