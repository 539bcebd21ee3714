import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { backendInfo, selectBackend, type BackendName } from '../src/backend/index.js';
import { BackendError } from '../src/errors.js';
import { WEBGPU_SKIP_REASON } from './helpers/backends.js';

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

  it('falls past unavailable backends to one that starts, one line of reason each', async () => {
    const picked = await selectBackend();
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(picked);
    const info = await backendInfo();
    expect(info.backend).toBe(picked);
    if (picked === 'wasm') {
      // tfjs-node is not installed here; webgpu has no adapter, or only a software one.
      expect(info.passedOver.map((l) => l.split(':')[0])).toEqual(['tensorflow', 'webgpu']);
      expect(info.passedOver.every((l) => !l.includes('\n'))).toBe(true);
      expect(info.maxBindingBytes).toBe(Infinity);
    }
  });

  it('names what was tried when an asked-for backend cannot start', async () => {
    await expect(selectBackend({ backend: 'tensorflow' })).rejects.toThrow(BackendError);
    await expect(selectBackend({ backend: 'tensorflow' })).rejects.toThrow(/@tensorflow\/tfjs-node-gpu:/);
  });

  it.skipIf(WEBGPU_SKIP_REASON !== null)(
    'starts webgpu when asked, and reports its adapter and limits',
    async () => {
      expect(await selectBackend({ backend: 'webgpu' })).toBe('webgpu');
      const { backend, adapter, maxBindingBytes } = await backendInfo();
      expect(backend).toBe('webgpu');
      expect(adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
      expect(adapter?.limits.maxBufferSize).toBeGreaterThanOrEqual(
        adapter?.limits.maxStorageBufferBindingSize ?? 0,
      );
      expect(maxBindingBytes).toBe(adapter?.limits.maxStorageBufferBindingSize);
      expect(['core', 'compatibility']).toContain(adapter?.featureLevel);
      // the library reads asynchronously; tfjs's own synchronous read throws on webgpu in Node
      const t = tf.tensor1d([1, 2, 3]);
      expect(Array.from(await t.data())).toEqual([1, 2, 3]);
      t.dispose();
      await selectBackend({ backend: 'wasm' });
    },
  );

  it('rejects an unknown backend name', async () => {
    await expect(selectBackend({ backend: 'tpu' as BackendName })).rejects.toThrow(
      /Unknown backend 'tpu'.*expected one of/,
    );
  });
});
