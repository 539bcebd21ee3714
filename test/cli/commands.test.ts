// Each command's output on the fixture model (JSON mode), in-process through main().
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type {
  AttentionResult,
  DlaResult,
  HeadScore,
  LensResult,
  RunResult,
} from '../../src/analysis/types.js';
import { HookedTransformer } from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, cliJson, FIXTURE, HAS_SHIPPED, SHIPPED, SHIPPED_TRAINED } from './helpers.js';

const M = ['--model', FIXTURE];
const tmp = mkdtempSync(join(tmpdir(), 'lazylens-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describeBackends(
  'lazylens commands',
  () => {
    it('run: the top-k next tokens, most likely first', async () => {
      const r = await cliJson<RunResult>('run', ...M, '--top', '3');
      expect(r.model).toBe(FIXTURE);
      expect(r.prompt.builtin).toBe(true);
      expect(r.prompt.tokens).toHaveLength(r.prompt.ids.length);
      expect(r.predictions).toHaveLength(3);
      const probs = r.predictions.map((p) => p.prob);
      expect([...probs].sort((a, b) => b - a)).toEqual(probs);
      expect(probs.reduce((a, b) => a + b)).toBeLessThanOrEqual(1 + 1e-6);
    });

    it('dla: every head, sorted, for the answer the repetition predicts', async () => {
      const r = await cliJson<DlaResult>('dla', ...M, '--top', '100');
      expect(r.by).toBe('heads');
      expect(r.answer.source).toBe('repeat');
      expect(r.answer.token).toBe(' mat'); // "The cat sat on the mat. The cat sat on the" → " mat"
      expect(r.components).toBe(8);
      expect(r.rows.map((x) => x.label).sort()).toEqual(
        ['L0H0', 'L0H1', 'L0H2', 'L0H3', 'L1H0', 'L1H1', 'L1H2', 'L1H3'].sort(),
      );
      const values = r.rows.map((x) => x.value);
      expect([...values].sort((a, b) => b - a)).toEqual(values);
    });

    it('dla --by all and --by layers each sum to the logit minus b_U (what the lens reads at the end)', async () => {
      const lens = await cliJson<LensResult>('lens', ...M);
      const model = await HookedTransformer.fromPretrained(FIXTURE);
      const bias = (model.b_U.arraySync() as number[])[lens.answer.id]; // ln_final's bias, folded into b_U
      model.dispose();
      const logit = lens.rows[lens.rows.length - 1].logit;
      for (const by of ['all', 'layers']) {
        const r = await cliJson<DlaResult>('dla', ...M, '--by', by, '--top', '100000');
        const total = r.rows.reduce((sum, x) => sum + x.value, 0);
        expect(total + bias, `--by ${by}`).toBeCloseTo(logit, 3);
      }
    });

    it('dla --by neurons and --answer: a given one-token answer, neuron labels', async () => {
      const r = await cliJson<DlaResult>('dla', ...M, '--by', 'neurons', '--answer', ' cat', '--top', '5');
      expect(r.answer).toMatchObject({ token: ' cat', source: 'given' });
      expect(r.components).toBe(2 * 256);
      expect(r.rows).toHaveLength(5);
      for (const row of r.rows) expect(row.label).toMatch(/^L[01]N\d+$/);
    });

    it('lens: rank and probability after each layer', async () => {
      const r = await cliJson<LensResult>('lens', ...M, '--answer', ' the');
      expect(r.rows.map((x) => x.label)).toEqual(['0_pre', '1_pre', 'final_post']);
      for (const row of r.rows) {
        expect(Number.isInteger(row.rank) && row.rank >= 1 && row.rank <= 304).toBe(true);
        expect(row.prob).toBeGreaterThanOrEqual(0);
        expect(row.prob).toBeLessThanOrEqual(1);
      }
    });

    it("lens's last row agrees with run: the answer's rank and probability in the model's output", async () => {
      const lens = await cliJson<LensResult>('lens', ...M);
      const run = await cliJson<RunResult>('run', ...M, '--top', '304');
      const rank = run.predictions.findIndex((p) => p.id === lens.answer.id) + 1;
      const last = lens.rows[lens.rows.length - 1];
      expect(last.rank).toBe(rank);
      expect(last.prob).toBeCloseTo(run.predictions[rank - 1].prob, 6);
    });

    it('attention: a causal pattern whose rows sum to 1', async () => {
      const r = await cliJson<AttentionResult>('attention', ...M, '--layer', '0', '--head', '1');
      const n = r.prompt.tokens.length;
      expect([r.layer, r.head]).toEqual([0, 1]);
      expect(r.pattern).toHaveLength(n);
      r.pattern.forEach((row, q) => {
        expect(row).toHaveLength(n);
        expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 4);
        for (let k = q + 1; k < n; k++) expect(row[k]).toBeCloseTo(0, 6);
      });
      expect(r.inductionScore).not.toBeNull();
    });

    it('attention defaults to the last layer', async () => {
      const r = await cliJson<AttentionResult>('attention', ...M);
      expect(r.layer).toBe(1);
      expect(r.head).toBeGreaterThanOrEqual(0);
    });

    it('explain: the naive and planned plans of the attribution', async () => {
      const r = await cliJson<{ plan: string; by: string }>('explain', ...M, '--by', 'all');
      expect(r.by).toBe('all');
      expect(r.plan).toContain('== naive plan');
      expect(r.plan).toContain('== planned plan');
    });

    it('demo: DLA, lens and induction scores together', async () => {
      const r = await cliJson<{ dla: DlaResult; lens: LensResult; inductionScores: HeadScore[] }>(
        'demo',
        ...M,
      );
      expect(r.dla.rows.length).toBeGreaterThan(0);
      expect(r.lens.rows).toHaveLength(3);
      expect(r.inductionScores).toHaveLength(8);
    });

    it('text mode prints a table, and --prompt replaces the built-in prompt', async () => {
      const r = await cli('dla', ...M, '--prompt', 'The cat sat on the mat. The cat', '--top', '2');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/· prompt \(\d+ tokens\): "The cat sat on the mat. The cat"/);
      expect(r.stdout).toContain('answer " sat"');
      expect(r.stdout).toMatch(/rank\s+component\s+attribution/);
      expect(r.stdout.trim().split('\n')).toHaveLength(6);
    });

    it('--html writes a self-contained report and says where', async () => {
      const file = join(tmp, 'dla.html');
      const r = await cli('dla', ...M, '--html', file);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`report written to ${file}\n`);
      const html = readFileSync(file, 'utf8');
      expect(html).toMatch(/^<!doctype html>/);
      // Nothing is fetched: no external scripts, stylesheets or images.
      expect(/<script[^>]*\ssrc=|<link[^>]*\shref=|<img[^>]*\ssrc=/.test(html)).toBe(false);
    });

    it('no arguments: the help, exit code 2 — and --help exits 0', async () => {
      const none = await cli();
      expect(none.code).not.toBe(0);
      expect(none.stderr).toContain('Usage: lazylens');
      const help = await cli('--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: lazylens');
    });
  },
  WASM_ONLY,
);

describeBackends(
  `the shipped model ${SHIPPED}`,
  () => {
    it.skipIf(!HAS_SHIPPED)('runs every command with no arguments', async () => {
      for (const cmd of ['run', 'dla', 'lens', 'attention', 'explain']) {
        const r = await cli(cmd);
        expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      }
    });

    it.skipIf(!SHIPPED_TRAINED)('demo: the layer-1 induction heads come out on top', async () => {
      const r = await cliJson<{ dla: DlaResult; lens: LensResult; inductionScores: HeadScore[] }>('demo');
      expect(r.dla.answer.source).toBe('repeat');
      expect(r.dla.rows[0].label).toMatch(/^L1H\d$/);
      expect(r.inductionScores[0].layer).toBe(1);
      expect(r.lens.rows[r.lens.rows.length - 1].rank).toBe(1);
    });
  },
  WASM_ONLY,
);
