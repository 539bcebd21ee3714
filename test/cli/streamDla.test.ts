// `lazylens dla --prompts data.jsonl --out results.jsonl`: a dataset streamed through the model.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { DlaTable } from '../../src/stream/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, cliJson, FIXTURE } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lazylens-stream-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describeBackends(
  'lazylens dla --prompts',
  () => {
    it('writes a line per prompt and prints the mean table', async () => {
      const data = join(tmp, 'data.jsonl');
      const out = join(tmp, 'out.jsonl');
      const prompts = ['The cat sat on the', 'The dog ran on the mat', 'on the mat the cat'];
      writeFileSync(
        data,
        prompts.map((p) => JSON.stringify({ prompt: p, answer: ' the' })).join('\n') + '\n',
      );
      const t = await cliJson<DlaTable>(
        'dla',
        '--model',
        FIXTURE,
        '--prompts',
        data,
        '--out',
        out,
        '--by',
        'layers',
      );
      expect(t.prompts).toBe(3);
      expect(t.labels).toEqual(['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out']);
      const lines = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { prompt: string; top: unknown[] });
      expect(lines.map((l) => l.prompt)).toEqual(prompts);
      expect(lines[0].top.length).toBeGreaterThan(0);
    });

    it('stops at a prompt longer than n_ctx, or cuts it with --truncate', async () => {
      const data = join(tmp, 'long.jsonl');
      const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
      writeFileSync(data, `${JSON.stringify({ prompt: long, answer: 5 })}\n`);
      const out = join(tmp, 'long-out.jsonl');
      const args = ['dla', '--model', FIXTURE, '--prompts', data, '--out', out, '--by', 'layers'];
      const stopped = await cli(...args);
      expect(stopped.code).not.toBe(0);
      expect(stopped.stderr).toMatch(/prompt 0.*at most nCtx = 32/);
      const t = await cliJson<DlaTable>(...args, '--truncate');
      expect(t.prompts).toBe(1);
      const line = JSON.parse(readFileSync(out, 'utf8').trim()) as { position: number };
      expect(line.position).toBe(31);
      const bad = await cli('dla', '--model', FIXTURE, '--truncate');
      expect(bad.stderr).toMatch(/--truncate needs --prompts FILE/);
    });

    it('names what is wrong with the flags', async () => {
      const r = await cli('dla', '--model', FIXTURE, '--prompts', join(tmp, 'missing.jsonl'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--prompts needs --out FILE/);
      const r2 = await cli('dla', '--model', FIXTURE, '--out', join(tmp, 'x.jsonl'));
      expect(r2.stderr).toMatch(/--out needs --prompts FILE/);
    });
  },
  WASM_ONLY,
);
