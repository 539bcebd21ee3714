// streamDla: JSON Lines in, one line per prompt out, the mean attribution table back; an error
// midway leaves every line before it written.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HookedTransformer } from '../../src/index.js';
import type { ProgressInfo } from '../../src/stream/progress.js';
import { streamDla, type DlaLine } from '../../src/stream/streamDla.js';
import { StreamError } from '../../src/errors.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY } from '../helpers/golden.js';

const RECORDS = [
  '{"prompt": "The cat sat on the", "answer": " mat", "id": "a"}',
  '"A dog"',
  '',
  '{"prompt": [303, 7, 8, 9, 10, 11], "answer": 12}',
  '{"prompt": "Birds fly", "answer": 40}',
  '{"prompt": "One two three four five", "id": "e"}',
];

const readLines = (path: string): DlaLine[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DlaLine);

describeBackends(
  'streamDla',
  () => {
    let model: HookedTransformer;
    let dir: string;
    beforeAll(async () => {
      model = await HookedTransformer.fromPretrained(GPT2_TINY);
      dir = mkdtempSync(join(tmpdir(), 'lazylens-dla-'));
    });
    afterAll(() => model.dispose());

    it('writes a line per prompt and returns the mean attribution of every component', async () => {
      const input = join(dir, 'in.jsonl');
      const output = join(dir, 'out.jsonl');
      writeFileSync(input, RECORDS.join('\n') + '\n');
      const reports: ProgressInfo[] = [];
      const table = await streamDla(model, input, output, {
        components: 'heads',
        topK: 1000,
        batchSize: 2,
        onProgress: (p) => reports.push(p),
      });
      // 2 layers × 4 heads, 2 MLP outputs, embed, pos_embed, bias
      expect(table.labels).toHaveLength(13);
      expect(table.labels.slice(0, 2)).toEqual(['L0H0', 'L0H1']);
      expect(table.prompts).toBe(5);
      const lines = readLines(output);
      expect(lines.map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
      expect(lines[0]).toMatchObject({ prompt: 'The cat sat on the', answer: ' mat', id: 'a' });
      expect(lines[2].answerId).toBe(12);
      expect(lines[2].position).toBe(5);
      expect(lines[0].top).toHaveLength(13);
      // The mean table is the mean of the lines, component by component.
      for (const [c, label] of table.labels.entries()) {
        const per = lines.map((l) => l.top.find((t) => t.component === label)?.attribution ?? NaN);
        expect(table.mean[c]).toBeCloseTo(per.reduce((a, b) => a + b, 0) / per.length, 5);
      }
      // top is sorted by |attribution|, and sums to total
      const mags = lines[1].top.map((t) => Math.abs(t.attribution));
      expect([...mags].sort((a, b) => b - a)).toEqual(mags);
      expect(lines[1].top.reduce((s, t) => s + t.attribution, 0)).toBeCloseTo(lines[1].total, 4);
      expect(reports.map((r) => r.prompts)).toEqual([2, 4, 5, 5]);
      expect(reports.at(-1)?.done).toBe(true);
    });

    it('groups prompts by length within windows, and writes the same lines in the input order', async () => {
      const input = join(dir, 'lengths.jsonl');
      // Token-id prompts of lengths that alternate long and short, so grouping reorders them.
      const lengths = [9, 2, 7, 3, 8, 2, 6, 4, 5, 3, 9];
      const prompts = lengths.map((n, i) => ({
        prompt: Array.from({ length: n }, (_, j) => (7 * i + 3 * j) % 300),
        answer: (11 * i) % 300,
      }));
      writeFileSync(input, prompts.map((p) => JSON.stringify(p)).join('\n'));
      const run = async (groupByLength: number): Promise<{ lines: DlaLine[]; mean: number[] }> => {
        const output = join(dir, `lengths-${groupByLength}.jsonl`);
        const table = await streamDla(model, input, output, { topK: 3, batchSize: 2, groupByLength });
        return { lines: readLines(output), mean: table.mean };
      };
      const grouped = await run(3);
      const plain = await run(1);
      expect(grouped.lines.map((l) => l.index)).toEqual(lengths.map((_, i) => i));
      expect(grouped.lines.map((l) => l.position)).toEqual(lengths.map((n) => n - 1));
      for (const [i, line] of grouped.lines.entries()) {
        const other = plain.lines[i];
        expect(line.answerId).toBe(other.answerId);
        expect(line.top.map((t) => t.component)).toEqual(other.top.map((t) => t.component));
        expect(line.total).toBeCloseTo(other.total, 4);
      }
      for (const [c, m] of grouped.mean.entries()) expect(m).toBeCloseTo(plain.mean[c], 4);
      await expect(run(0)).rejects.toThrow('groupByLength 0 given; expected a positive integer.');
    });

    it('keeps the lines written before a bad line and names its prompt', async () => {
      const input = join(dir, 'bad.jsonl');
      const output = join(dir, 'bad-out.jsonl');
      writeFileSync(input, [...RECORDS, '{"prompt": oops}', '"never read"'].join('\n'));
      const err = await streamDla(model, input, output, {
        components: 'layers',
        topK: 2,
        batchSize: 2,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamError);
      expect((err as StreamError).promptIndex).toBe(5);
      expect((err as Error).message).toMatch(/^prompt 5: .*bad\.jsonl:7: invalid JSON/);
      const lines = readLines(output);
      expect(lines.map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
      expect(lines[0].top.map((t) => t.component)).toHaveLength(2);
    });

    it('returns an empty table for an empty file and rejects bad options', async () => {
      const input = join(dir, 'empty.jsonl');
      writeFileSync(input, '\n');
      expect(await streamDla(model, input, join(dir, 'empty-out.jsonl'))).toEqual({
        labels: [],
        mean: [],
        prompts: 0,
      });
      await expect(streamDla(model, input, join(dir, 'x.jsonl'), { topK: 0 })).rejects.toThrow(/topK 0/);
      await expect(
        streamDla(model, input, join(dir, 'no-such-dir', 'x.jsonl'), { components: 'layers' }),
      ).rejects.toThrow(/ENOENT/);
    });
  },
  WASM_ONLY,
);
