// readJsonl: the JSON Lines reader behind `dla --prompts`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonl } from '../../src/stream/readJsonl.js';

const tmp = mkdtempSync(join(tmpdir(), 'lazylens-jsonl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function readAll(text: string): Promise<unknown[]> {
  const file = join(tmp, `f${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, text);
  const records: unknown[] = [];
  for await (const r of readJsonl(file)) records.push(r);
  return records;
}

describe('readJsonl', () => {
  it('skips a UTF-8 byte-order mark at the start of the file', async () => {
    expect(await readAll('\uFEFF{"prompt": "a"}\r\n"b"\n')).toEqual([{ prompt: 'a' }, { prompt: 'b' }]);
  });

  it('keeps a BOM-like character inside a later line as data', async () => {
    expect(await readAll('"a"\n"\uFEFFb"\n')).toEqual([{ prompt: 'a' }, { prompt: '\uFEFFb' }]);
  });

  it('still names the file and line of invalid JSON', async () => {
    await expect(readAll('"a"\n{oops\n')).rejects.toThrow(/:2: invalid JSON/);
  });
});
