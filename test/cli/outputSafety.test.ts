// Nothing lost: an output that is the input is refused, and a failed or interrupted run leaves
// the previous --out / --html file exactly as it was, with no temporary file beside it.
import { spawn } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, FIXTURE } from './helpers.js';

const M = ['--model', FIXTURE];
const tmp = mkdtempSync(join(tmpdir(), 'lazylens-safe-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OLD = '{"old": true}\n';
const INPUT = '{"prompt": "The cat sat on the", "answer": " mat"}\n"A dog ran"\n';

/** A fresh folder holding an input file and an old output file. */
function setup(name: string): { dir: string; input: string; out: string } {
  const d = mkdtempSync(join(tmp, `${name}-`));
  const input = join(d, 'in.jsonl');
  const out = join(d, 'out.jsonl');
  writeFileSync(input, INPUT);
  writeFileSync(out, OLD);
  return { dir: d, input, out };
}

const temps = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('lazylens output safety', () => {
  it('refuses --out that is the --prompts file, and leaves the input as it was', async () => {
    const { input } = setup('same');
    const r = await cli('dla', ...M, '--prompts', input, '--out', input);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out ".*in\.jsonl" is the --prompts file; expected a different file/);
    expect(readFileSync(input, 'utf8')).toBe(INPUT);
  });

  it('refuses --out that is a symlink to the --prompts file', async () => {
    const { dir, input } = setup('link');
    const link = join(dir, 'link.jsonl');
    symlinkSync(input, link);
    const r = await cli('dla', ...M, '--prompts', input, '--out', link);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the --prompts file/);
    expect(readFileSync(input, 'utf8')).toBe(INPUT);
  });

  it('a missing --prompts file names the flag and the file, and keeps the old --out', async () => {
    const { dir, out } = setup('missing');
    const r = await cli('dla', ...M, '--prompts', join(dir, 'nope.jsonl'), '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--prompts: no such file '.*nope\.jsonl'; expected an existing JSON Lines file/);
    expect(r.stderr).not.toMatch(/ENOENT/);
    expect(readFileSync(out, 'utf8')).toBe(OLD);
  });

  it('an error mid-stream keeps the old --out and removes the temporary file', async () => {
    const { dir, input, out } = setup('error');
    writeFileSync(input, INPUT + '{"prompt": "ok"}\n{not json\n');
    const r = await cli('dla', ...M, '--prompts', input, '--out', out, '--by', 'layers');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/invalid JSON/);
    expect(readFileSync(out, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  });

  it('a successful run replaces --out through a symlink, keeping the link', async () => {
    const { dir, input, out } = setup('replace');
    const link = join(dir, 'link-out.jsonl');
    symlinkSync(out, link);
    const r = await cli('dla', ...M, '--prompts', input, '--out', link, '--by', 'layers');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(statSync(link).isFile()).toBe(true);
    expect(temps(dir)).toEqual([]);
  });

  it('Ctrl-C exits 130 with one line, keeps the old --out and leaves no temporary file', async () => {
    const { dir, input, out } = setup('sigint');
    // Enough prompts that the run is still streaming when the signal arrives.
    writeFileSync(
      input,
      `${JSON.stringify({ prompt: 'The cat sat on the mat and the dog' })}\n`.repeat(200_000),
    );
    // node with tsx's loader (what `npx tsx` runs), so the signal and the exit code are the CLI's
    // own rather than npm's.
    const args = [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'dla',
      ...M,
      '--prompts',
      input,
      '--out',
      out,
      '--by',
      'layers',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Progress is drawn only on a terminal; the first lines in the temporary file are the sign
    // that streaming has begun.
    const started = Date.now();
    while (!temps(dir).some((f) => statSync(join(dir, f), { throwIfNoEntry: false })?.size)) {
      if (Date.now() - started > 60_000) throw new Error(`the run never started streaming: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr.trim().split('\n').at(-1)).toBe('lazylens: interrupted; no output file was changed');
    expect(readFileSync(out, 'utf8')).toBe(OLD);
    expect(temps(dir)).toEqual([]);
  }, 120_000);
});
