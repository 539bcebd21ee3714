// The wasm backend's threads (src/backend/wasmThreads.ts) and its error reporting
// (src/backend/quietWasmErrors.ts), each checked in a fresh `npx tsx` process: a wasm module
// starts once per process, and an uncaught error ends the process it happens in.
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/backend/index.js';
import { nativeBlasReport } from '../src/backend/nativeBlas.js';
import { MAX_WASM_THREADS, wantedWasmThreads } from '../src/backend/wasmThreads.js';
import { BackendError } from '../src/errors.js';

const SCRIPTS = fileURLToPath(new URL('./fixtures/scripts/', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScript(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', `${SCRIPTS}${script}`, ...args],
      // A process held open by a live pthread would run into this timeout (code null).
      { env: { ...process.env, ...env }, timeout: 90_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
    );
  });
}

interface Report {
  backend: string;
  threads: number;
  fallbackReason?: string;
  product: number[];
}

function report(run: Run): Report {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as Report;
}

const CORES = Math.min(availableParallelism(), MAX_WASM_THREADS);

/** Where a BLAS library loads, wasm defaults to one thread (see src/backend/index.ts). */
const NO_BLAS = { LAZYLENS_BLAS: 'off' };
const BLAS = nativeBlasReport().library;

describe('wasm threads', () => {
  it('run on every core by default without BLAS, give the single-thread results, and let the process exit', async () => {
    const [threaded, single] = await Promise.all([
      runScript('wasmThreadsReport.ts', [], NO_BLAS),
      runScript('wasmThreadsReport.ts', [], { ...NO_BLAS, LAZYLENS_WASM_THREADS: '1' }),
    ]);
    const t = report(threaded);
    const s = report(single);
    expect(t).toMatchObject({ backend: 'wasm', threads: CORES });
    expect(t.fallbackReason).toBeUndefined();
    expect(threaded.stderr).not.toMatch(/did not start/);
    expect(s).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(t.product).toHaveLength(192 * 160);
    // Same kernels on the same data: XNNPACK splits the output across threads, not the sums.
    t.product.forEach((v, i) => expect(v).toBeCloseTo(s.product[i], 4));
  }, 120_000);

  it.skipIf(BLAS === undefined)(
    `run one thread by default where a BLAS library does the products (${BLAS ?? 'none here'})`,
    async () => {
      const [blas, own] = await Promise.all([
        runScript('wasmThreadsReport.ts', []),
        runScript('wasmThreadsReport.ts', [], NO_BLAS),
      ]);
      const b = report(blas);
      expect(b).toMatchObject({ backend: 'wasm', threads: 1 });
      expect(b.fallbackReason).toBeUndefined();
      report(own).product.forEach((v, i) => expect(b.product[i]).toBeCloseTo(v, 3));
      // Named, the count is kept.
      const named = await runScript('wasmThreadsReport.ts', [], { LAZYLENS_WASM_THREADS: String(CORES) });
      expect(report(named).threads).toBe(CORES);
    },
    120_000,
  );

  it('fall back to the single-thread build with a one-line reason when workers cannot start', async () => {
    const run = await runScript('wasmThreadsReport.ts', ['break-workers'], NO_BLAS);
    const r = report(run);
    if (CORES === 1) return; // nothing to fall back from on one core
    expect(r).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(r.fallbackReason).toMatch(/ERR_WORKER_PATH/);
    const lines = run.stderr.split('\n').filter((l) => l.includes('threaded wasm build did not start'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ERR_WORKER_PATH.*running the single-thread build/);
  }, 120_000);

  it('take their count from the option, then LAZYLENS_WASM_THREADS, then the cores', () => {
    const saved = process.env.LAZYLENS_WASM_THREADS;
    try {
      delete process.env.LAZYLENS_WASM_THREADS;
      expect(wantedWasmThreads()).toEqual({ threads: CORES, explicit: false });
      expect(wantedWasmThreads(undefined, 1)).toEqual({ threads: 1, explicit: false });
      process.env.LAZYLENS_WASM_THREADS = '3';
      expect(wantedWasmThreads()).toEqual({ threads: 3, explicit: true });
      expect(wantedWasmThreads(2)).toEqual({ threads: 2, explicit: true });
      for (const bad of ['0', 'two', '1.5', '9', '-1']) {
        process.env.LAZYLENS_WASM_THREADS = bad;
        expect(() => wantedWasmThreads()).toThrow(
          new RegExp(`LAZYLENS_WASM_THREADS='${bad}'\\): given ${bad}, expected an integer from 1 to 8`),
        );
      }
    } finally {
      if (saved === undefined) delete process.env.LAZYLENS_WASM_THREADS;
      else process.env.LAZYLENS_WASM_THREADS = saved;
    }
  });

  it('reject a bad wasmThreads option in selectBackend, whichever backend is picked', async () => {
    await expect(selectBackend({ backend: 'cpu', wasmThreads: 0 })).rejects.toThrow(BackendError);
    await expect(selectBackend({ backend: 'cpu', wasmThreads: 2.5 })).rejects.toThrow(
      /wasmThreads option\): given 2.5, expected an integer from 1 to 8/,
    );
  });
});

describe('an uncaught error after the wasm backend started', () => {
  for (const threads of ['1', String(CORES)]) {
    for (const mode of ['throw', 'reject']) {
      it(`prints the error, not the wasm glue, and exits 1 (${mode}, ${threads} thread(s))`, async () => {
        const run = await runScript('wasmFails.ts', [mode], { LAZYLENS_WASM_THREADS: threads });
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(
          mode === 'throw'
            ? /Error: lazylens-test: thrown on purpose/
            : /Error: lazylens-test: rejected on purpose/,
        );
        expect(Buffer.byteLength(run.stderr)).toBeLessThan(2048);
      }, 120_000);
    }
  }
});
