import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend, type BackendName } from '../src/backend/index.js';
import { BackendError } from '../src/errors.js';

describe('selectBackend', () => {
  const saved = process.env.LAZYLENS_BACKEND;
  afterAll(() => {
    if (saved === undefined) delete process.env.LAZYLENS_BACKEND;
    else process.env.LAZYLENS_BACKEND = saved;
  });

  it('starts wasm when asked by option', async () => {
    expect(await selectBackend({ backend: 'wasm' })).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('honours LAZYLENS_BACKEND', async () => {
    process.env.LAZYLENS_BACKEND = 'cpu';
    expect(await selectBackend()).toBe('cpu');
    delete process.env.LAZYLENS_BACKEND;
  });

  it('falls past unavailable backends to one that starts', async () => {
    // tfjs-node is not installed here and Node has no navigator.gpu, so the pick is wasm.
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(await selectBackend());
  });

  it('names what was tried when an asked-for backend cannot start', async () => {
    await expect(selectBackend({ backend: 'webgpu' })).rejects.toThrow(BackendError);
    await expect(selectBackend({ backend: 'webgpu' })).rejects.toThrow(/webgpu: no navigator.gpu/);
    await expect(selectBackend({ backend: 'tensorflow' })).rejects.toThrow(/@tensorflow\/tfjs-node-gpu:/);
  });

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend({ backend: 'tpu' as BackendName })).rejects.toThrow(
      /Unknown backend 'tpu'.*expected one of/,
    );
  });
});
