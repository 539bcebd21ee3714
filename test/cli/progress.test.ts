// The progress reporter draws on a terminal only, and leaves a clean line behind.
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../src/cli/io.js';
import { Progress } from '../../src/cli/progress.js';

describe('Progress', () => {
  it('on a terminal: draws a loading step at once, then clears its line', async () => {
    const io = captureIo(true);
    const p = new Progress(io, 2, true);
    const value = await p.step('loading model', () => 42, true);
    p.done();
    expect(value).toBe(42);
    const clear = '\r\u001b[2K'; // carriage return, then erase the line
    expect(io.stderr.startsWith(clear) && io.stderr.endsWith(clear)).toBe(true);
    expect(io.stderr.slice(clear.length, -clear.length)).toMatch(/^░+ 1\/2 loading model \d+\.\ds$/);
    expect(io.stdout).toBe('');
  });

  it('shows a step only after it has run for a second', async () => {
    const io = captureIo(true);
    const p = new Progress(io, 2, true);
    await p.step('fast', () => 'done');
    await p.step('slow', () => new Promise((r) => setTimeout(r, 1300)));
    p.done();
    expect(io.stderr).not.toContain('fast');
    expect(io.stderr).toMatch(/█+░+ 2\/2 slow 1\.\ds/);
  });

  it('disabled (not a terminal, or --json): writes nothing', async () => {
    const io = captureIo(false);
    const p = new Progress(io, 1, false);
    await p.step('loading', () => new Promise((r) => setTimeout(r, 1100)), true);
    p.done();
    expect(io.stderr).toBe('');
  });
});
