// Bad input: one clear line on stderr, a non-zero exit code, nothing on stdout, no stack trace
// (unless --verbose). In-process through main(), plus one spawned run of bin/lazylens.js.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeBlasReport } from '../../src/backend/nativeBlas.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, FIXTURE, HAS_SHIPPED } from './helpers.js';

const M = ['--model', FIXTURE];
const tmp = mkdtempSync(join(tmpdir(), 'lazylens-err-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Each case: arguments, expected exit code, and a fragment of the message. */
const CASES: [string, string[], number, RegExp][] = [
  [
    'an unknown model name',
    ['dla', '--model', 'no-such-model'],
    1,
    /No model 'no-such-model'.*Shipped models/,
  ],
  [
    'an answer that is not one token',
    ['dla', ...M, '--answer', 'catdogs'],
    1,
    /"catdogs" is not a single token/,
  ],
  ['an empty answer', ['lens', ...M, '--answer', ''], 1, /--answer is empty/],
  [
    'a prompt longer than n_ctx',
    ['run', ...M, '--prompt', 'the cat '.repeat(40)],
    1,
    /has \d+ tokens; expected at most n_ctx = 32/,
  ],
  ['an empty prompt', ['run', ...M, '--prompt', '  '], 1, /--prompt is empty/],
  [
    '--html in a missing folder',
    ['dla', ...M, '--html', join(tmp, 'missing', 'r.html')],
    1,
    /Cannot write the report.*does not exist/,
  ],
  ['--html naming a folder', ['lens', ...M, '--html', tmp], 1, /Cannot write the report.*is a directory/],
  [
    '--by foo',
    ['dla', ...M, '--by', 'foo'],
    2,
    /'--by <kind>' argument 'foo' is invalid\. Allowed choices are heads, layers, neurons, all/,
  ],
  [
    '--top -3',
    ['dla', ...M, '--top', '-3'],
    2,
    /'--top <n>' argument '-3' is invalid\. Expected a positive integer/,
  ],
  ['--top 0', ['run', ...M, '--top', '0'], 2, /'--top <n>' argument '0' is invalid/],
  ['--top 2.5', ['run', ...M, '--top', '2.5'], 2, /'--top <n>' argument '2\.5' is invalid/],
  ['--layer 9', ['attention', ...M, '--layer', '9'], 2, /--layer 9 given; expected an integer in \[0, 1\]/],
  ['--head 4', ['attention', ...M, '--head', '4'], 2, /--head 4 given; expected an integer in \[0, 3\]/],
  ['--layer x', ['attention', ...M, '--layer', 'x'], 2, /'--layer <n>' argument 'x' is invalid/],
  ['an unknown option', ['dla', ...M, '--topp', '3'], 2, /unknown option '--topp'/],
  ['an unknown command', ['frobnicate'], 2, /unknown command 'frobnicate'/],
  ['a missing option value', ['dla', ...M, '--answer'], 2, /option '--answer <token>' argument missing/],
];

describeBackends(
  'lazylens bad input',
  () => {
    for (const [what, args, code, message] of CASES) {
      it(`${what}: exit ${code}, one line, no stack`, async () => {
        const r = await cli(...args);
        expect(r.code).toBe(code);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/^lazylens: error: .+\n$/);
        expect(r.stderr.split('\n')).toHaveLength(2); // one line and its newline
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      });
    }

    it.skipIf(!HAS_SHIPPED)('--by neurons on the attention-only shipped model', async () => {
      const r = await cli('dla', '--by', 'neurons');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^lazylens: error: --by neurons given, but .* is attention-only[^\n]*\n$/);
    });

    it('--verbose on success names the backend, the BLAS library its products used and the SIMD kernels', async () => {
      const r = await cli('dla', ...M, '--verbose');
      expect(r.code, r.stderr).toBe(0);
      const blas = nativeBlasReport().library;
      const line = r.stderr.split('\n').find((l) => l.startsWith('lazylens: backend'));
      expect(line).toMatch(/^lazylens: backend wasm/);
      if (blas) expect(line).toContain(`, matrix products through ${blas}`);
      else expect(line).not.toContain('matrix products');
      expect(line).toContain(', activations and norms in SIMD kernels');
    });

    it('--verbose adds the stack trace after the one-line message', async () => {
      const r = await cli('dla', ...M, '--answer', 'catdogs', '--verbose');
      expect(r.code).toBe(1);
      const lines = r.stderr.split('\n');
      expect(lines[0]).toMatch(/^lazylens: error: "catdogs" is not a single token/);
      expect(r.stderr).toMatch(/\n\s+at /);
    });
  },
  WASM_ONLY,
);

describe('bin/lazylens.js (spawned)', () => {
  it('--help prints the usage and exits 0', () => {
    const r = spawnSync(process.execPath, ['bin/lazylens.js', '--help'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: lazylens');
    for (const cmd of ['run', 'dla', 'lens', 'attention', 'explain', 'demo']) expect(r.stdout).toContain(cmd);
  });

  it('a LAZYLENS_BLAS library that cannot load: exit 1 naming it, not a silent fall back to cpu', () => {
    const r = spawnSync(process.execPath, ['bin/lazylens.js', 'demo'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LAZYLENS_BLAS: '/no/such/libblas.so' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^lazylens: error: LAZYLENS_BLAS='\/no\/such\/libblas.so' could not be used/);
    expect(r.stdout).toBe('');
  });

  it('a bad flag: exit 2 and one line on stderr', () => {
    const r = spawnSync(process.execPath, ['bin/lazylens.js', 'dla', '--by', 'foo'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^lazylens: error: option '--by <kind>' argument 'foo' is invalid[^\n]*\n$/);
  });
});
