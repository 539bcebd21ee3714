// `lazylens info` and `--backend`: the backend in use, the WebGPU adapter and its limits.
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/index.js';
import { WEBGPU_SKIP_REASON } from '../helpers/backends.js';
import { cli, cliJson } from './helpers.js';

describe('lazylens info', () => {
  afterAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });

  it('names the backend in use', async () => {
    const r = await cli('--backend', 'wasm', 'info');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}backend +wasm$/m);
    expect(r.stdout).toMatch(/binding limit in use +no limit/);
  });

  it('refuses an unknown backend as a usage error', async () => {
    const r = await cli('--backend', 'tpu', 'info');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'tpu' is invalid.*tensorflow, webgpu, wasm, cpu/);
  });

  it('says why an asked-for backend cannot start', async () => {
    const r = await cli('--backend', 'tensorflow', 'info');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/backend 'tensorflow' was asked for but could not start/);
  });

  it.skipIf(WEBGPU_SKIP_REASON !== null)('reports the WebGPU adapter and its limits', async () => {
    const info = await cliJson<{
      backend: string;
      adapter: { featureLevel: string; limits: Record<string, number> };
      maxBindingBytes: number;
    }>('--backend', 'webgpu', 'info');
    expect(info.backend).toBe('webgpu');
    expect(info.adapter.limits.maxStorageBufferBindingSize).toBe(info.maxBindingBytes);
    expect(info.adapter.limits.maxBufferSize).toBeGreaterThan(0);
    const text = await cli('--backend', 'webgpu', 'info');
    expect(text.stdout).toMatch(/maxStorageBufferBindingSize +\d+ \(\d+ MiB\)/);
  });
});
