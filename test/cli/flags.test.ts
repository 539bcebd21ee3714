// Flags every user expects: global options in each command's help, --version, demo --html.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, FIXTURE, reportData } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lazylens-flags-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('each command --help lists the global options', async () => {
  for (const command of ['dla', 'lens', 'run', 'attention', 'demo']) {
    const r = await cli(command, '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--model', '--prompt', '--html', '--json']) expect(r.stdout, command).toContain(flag);
  }
});

it('--version prints the package version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const r = await cli('--version');
  expect(r.code).toBe(0);
  expect(r.stdout.trim()).toBe(version);
});

describeBackends(
  'demo --html',
  () => {
    it('writes a report with the DLA, logit lens and induction charts', async () => {
      const file = join(tmp, 'demo.html');
      const r = await cli('demo', '--model', FIXTURE, '--html', file);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(file)).toBe(true);
      expect(reportData(file).charts.map((c) => c.id)).toEqual([
        'chart-dla',
        'chart-rank',
        'chart-prob',
        'chart-induction',
      ]);
    });
  },
  WASM_ONLY,
);

describeBackends(
  'dla --abs',
  () => {
    it('ranks by absolute value and keeps the sign', async () => {
      const args = ['dla', '--model', FIXTURE, '--by', 'layers', '--json', '--top', '100'];
      type Rows = { rows: { label: string; value: number }[] };
      const signed = JSON.parse((await cli(...args)).stdout) as Rows;
      const r = await cli(...args, '--abs');
      expect(r.code, r.stderr).toBe(0);
      const ranked = (JSON.parse(r.stdout) as Rows).rows;
      const expected = [...signed.rows].sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
      expect(ranked).toEqual(expected);
      // The case is only a test when a negative value changes the order.
      expect(ranked.some((row) => row.value < 0)).toBe(true);
      expect(ranked.map((row) => row.label)).not.toEqual(signed.rows.map((row) => row.label));
    });
  },
  WASM_ONLY,
);

describeBackends(
  '--tokens',
  () => {
    it('runs on the given token ids', async () => {
      const r = await cli('run', '--model', FIXTURE, '--tokens', '5, 6,7', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { prompt: { ids: number[] } }).prompt.ids).toEqual([5, 6, 7]);
    });

    it('refuses ids that are not integers in [0, d_vocab)', async () => {
      const bad = await cli('dla', '--model', FIXTURE, '--tokens', '1,x');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/'--tokens <ids>' argument '1,x' is invalid/);
      const big = await cli('dla', '--model', FIXTURE, '--tokens', '1,999999');
      expect(big.code).toBe(2);
      expect(big.stderr).toMatch(/--tokens: token id 999999 given; expected an integer in \[0, \d+\)/);
      const both = await cli('run', '--model', FIXTURE, '--tokens', '1', '--prompt', 'a');
      expect(both.code).toBe(2);
    });
  },
  WASM_ONLY,
);
