// Vitest global setup: looks once, before any test file, for a WebGPU adapter (Dawn in Node: a GPU,
// or Mesa's llvmpipe through OpenGL ES on a machine without one) and tells the test files whether
// the webgpu suites can run, or why not (test/helpers/backends.ts skips them with that reason).
import type { TestProject } from 'vitest/node';
import { findGpuAdapter } from '../../src/backend/gpuAdapter.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why the webgpu suites are skipped; `null` when an adapter was found. */
    webgpuSkipReason: string | null;
    /** The adapter the webgpu suites run on, in one line. */
    webgpuAdapter: string | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  if (process.env.LAZYLENS_TEST_WEBGPU === '0') {
    project.provide('webgpuSkipReason', 'LAZYLENS_TEST_WEBGPU=0');
    project.provide('webgpuAdapter', null);
    return;
  }
  try {
    const a = await findGpuAdapter({ software: true });
    project.provide('webgpuSkipReason', null);
    project.provide('webgpuAdapter', `${a.device || a.description} (${a.featureLevel}, ${a.source})`);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    project.provide('webgpuSkipReason', `no WebGPU adapter: ${reason}`);
    project.provide('webgpuAdapter', null);
  }
}
