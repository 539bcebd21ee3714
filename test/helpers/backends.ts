// Runs a describe block once per backend (one suite, every backend): wasm always, cpu where the suite is cheap.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe } from 'vitest';
import { selectBackend, type BackendName } from '../../src/backend/index.js';

export const TEST_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/** `describe` the suite on each backend in `backends`, switching tf's backend before it runs. */
export function describeBackends(
  title: string,
  body: (backend: BackendName) => void,
  backends: readonly BackendName[] = TEST_BACKENDS,
): void {
  for (const backend of backends) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await selectBackend({ backend });
        if (tf.getBackend() !== backend) throw new Error(`backend ${backend} did not start`);
      });
      body(backend);
    });
  }
}

/** Suites too slow for the pure-JS cpu backend run on wasm only. */
export const WASM_ONLY: readonly BackendName[] = ['wasm'];
