// `lazylens patch` on the shipped induction model (its induction circuit shows up) and on gpt2-tiny.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { PatchingResult } from '../../src/report/patchingReport.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, cliJson, FIXTURE, HAS_SHIPPED, reportData, SHIPPED } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lazylens-patch-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// BOS, seven words and the answer, then the seven words again: the next word is the answer.
const WORDS = 'cat dog bird fish cow pig king';
const CLEAN = `${WORDS} ant ${WORDS}`;
const CORRUPT = `man woman child baby boy girl friend mother ${WORDS}`;
const ARGS = [
  'patch',
  '--model',
  SHIPPED,
  '--clean',
  CLEAN,
  '--corrupt',
  CORRUPT,
  '--answer',
  'ant',
  '--wrong',
  'mother',
];

describeBackends(
  'lazylens patch',
  () => {
    it.skipIf(!HAS_SHIPPED)(
      'resid_pre: at layer 1, the answer’s first occurrence restores the clean answer',
      async () => {
        const r = await cliJson<PatchingResult>(...ARGS);
        expect(r.preset).toBe('getActPatchResidPre');
        expect(r.axes).toEqual(['layer', 'pos']);
        expect(r.labels[1]).toEqual(r.corrupt.tokens);
        expect(r.cleanLogitDiff).toBeGreaterThan(r.corruptLogitDiff + 2);
        const restored = r.restored as number[][];
        const values = r.values as number[][];
        // Position 8 holds "ant" in the clean prompt (BOS is 0).
        expect(restored[1][8]).toBeGreaterThan(0.9);
        const span = r.cleanLogitDiff - r.corruptLogitDiff;
        expect(restored[1][8]).toBeCloseTo((values[1][8] - r.corruptLogitDiff) / span, 6);
        // Layer 0's positions after the corrupted half see the same tokens: nothing to restore
        // (0 up to float32 rounding: a BLAS library may round a row differently in a batch of
        // another size, and patched runs are batched).
        for (let p = 9; p < 16; p++) expect(Math.abs(restored[0][p])).toBeLessThan(1e-6);
      },
    );

    it.skipIf(!HAS_SHIPPED)(
      'heads: a layer-1 head restores the most; the text shows a layer × head table',
      async () => {
        const r = await cliJson<PatchingResult>(...ARGS, '--what', 'heads');
        const grid = r.restored as number[][];
        expect(grid.map((row) => row.length)).toEqual([4, 4]);
        const best = Math.max(...grid.flat());
        expect(grid[1]).toContain(best);
        const text = await cli(...ARGS, '--what', 'heads');
        expect(text.code).toBe(0);
        expect(text.stdout).toMatch(/fraction of that difference restored by patching heads/);
        expect(text.stdout).toMatch(/layer\s+H0\s+H1\s+H2\s+H3\n\s+L0 .*\n\s+L1 /);
      },
    );

    it.skipIf(!HAS_SHIPPED)('--html writes the heatmap report', async () => {
      const file = join(tmp, 'patch.html');
      const r = await cli(...ARGS, '--html', file);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`report written to ${file}`);
      const data = reportData(file);
      expect(data.charts.map((c) => c.id)).toEqual(['chart-patch-0']);
      const values = (data.charts[0].spec.data as { values: unknown[] }).values;
      expect(values).toHaveLength(2 * 16);
    });

    it.skipIf(!HAS_SHIPPED)('bad input: lengths, MLPs on an attention-only model, flags', async () => {
      const shorter = await cli(...ARGS.slice(0, 6), CORRUPT.replace('man ', ''), ...ARGS.slice(7));
      expect(shorter.code).toBe(2);
      expect(shorter.stderr).toMatch(/--clean has 16 tokens and --corrupt 15; expected the same number/);
      const mlp = await cli(...ARGS, '--what', 'mlp_out');
      expect(mlp.code).toBe(2);
      expect(mlp.stderr).toMatch(/--what mlp_out given, but induction-2l is attention-only/);
      const every = await cli(...ARGS, '--what', 'every');
      expect(every.code).toBe(2);
      const prompt = await cli(...ARGS, '--prompt', 'cat');
      expect(prompt.code).toBe(2);
      expect(prompt.stderr).toMatch(/patch takes --clean and --corrupt/);
      const same = await cli(...ARGS.slice(0, -1), 'ant');
      expect(same.code).toBe(2);
      expect(same.stderr).toMatch(/--answer and --wrong are both "ant"/);
      const two = await cli(...ARGS.slice(0, 8), 'cat dog', ...ARGS.slice(9));
      expect(two.code).toBe(1);
      expect(two.stderr).toMatch(/TokenError|one token|single/i);
      const missing = await cli(...ARGS.slice(0, -2));
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--wrong/);
      const what = await cli(...ARGS, '--what', 'neurons');
      expect(what.code).toBe(2);
    });

    it('every on a model with MLPs: resid_pre, attn_out and mlp_out tables', async () => {
      const args = [
        'patch',
        '--model',
        FIXTURE,
        '--clean',
        'The cat sat on the mat',
        '--corrupt',
        'The dog sat on the mat',
      ];
      const r = await cliJson<PatchingResult>(
        ...args,
        '--answer',
        ' cat',
        '--wrong',
        ' dog',
        '--what',
        'every',
      );
      expect(r.axes).toEqual(['act', 'layer', 'pos']);
      expect(r.labels[0]).toEqual(['resid_pre', 'attn_out', 'mlp_out']);
      const n = r.clean.tokens.length;
      expect((r.values as number[][][]).map((g) => g.map((row) => row.length))).toEqual([
        [n, n],
        [n, n],
        [n, n],
      ]);
      const text = await cli(...args, '--answer', ' cat', '--wrong', ' dog', '--what', 'every');
      expect(text.stdout).toMatch(/resid_pre:\n.*\n[\s\S]*attn_out:\n[\s\S]*mlp_out:\n/);
    });
  },
  WASM_ONLY,
);
