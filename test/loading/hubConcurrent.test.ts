// Two processes downloading the same file into one cache: the lock beside the blob makes the
// second wait for the first and reuse its blob, so the file is fetched once. Also: locks left by
// a dead process or another tool are taken over.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hubDownloadFile } from '../../src/loading/hub/hubDownloadFile.js';
import { hubSettings } from '../../src/loading/hub/HubOptions.js';
import { STALE_MS, withFileLock } from '../../src/loading/hub/withFileLock.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { useHubEnv } from '../helpers/hubEnv.js';
import { folderFiles, sha256 } from '../helpers/localHub.js';

const CHILD = fileURLToPath(new URL('./hubChild.ts', import.meta.url));
const REPO = 'lazylens-test/gpt2-tiny';
const files = folderFiles(GPT2_TINY);
const weights = files['model.safetensors'];

/** Runs hubChild.ts in a new Node process (through tsx); resolves with what it printed. */
function runChild(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, args, {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

describe('concurrent Hub downloads', () => {
  const env = useHubEnv();

  it('two processes fetch the same file once: the second waits on the lock and reuses the blob', async () => {
    env.hub.addRepo(REPO, files);
    // ~120 chunks of 4 KiB at 30 ms each: the first download takes seconds, long enough to overlap
    env.hub.chunkDelayMs = 30;
    const outs = await Promise.all([
      runChild([REPO, 'model.safetensors']),
      runChild([REPO, 'model.safetensors']),
    ]);
    const [a, b] = outs.map((o) => JSON.parse(o) as { path: string });
    expect(a.path).toBe(b.path);
    expect(readFileSync(a.path).equals(weights)).toBe(true);
    const heads = env.hub.requests.filter((r) => r.method === 'HEAD');
    const gets = env.hub.gets('model.safetensors');
    expect(heads).toHaveLength(2);
    expect(gets).toHaveLength(1);
    // the two really overlapped: both asked before the one download finished
    expect(Math.max(...heads.map((h) => h.at))).toBeLessThan(gets[0].doneAt ?? 0);
    const blob = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'blobs', sha256(weights));
    expect(existsSync(`${blob}.lock`)).toBe(false);
  });

  it('takes over a lock whose process is gone, or that nobody has touched for a while', async () => {
    env.hub.addRepo(REPO, files);
    const blob = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'blobs', sha256(weights));
    mkdirSync(join(blob, '..'), { recursive: true });
    // a pid that cannot exist (above Linux's pid_max) on this host
    writeFileSync(`${blob}.lock`, `4194399@${hostname()}`);
    const r = await hubDownloadFile(hubSettings(), {
      repoId: REPO,
      revision: 'main',
      file: 'model.safetensors',
    });
    expect('path' in r && readFileSync(r.path).equals(weights)).toBe(true);
    // an empty lock file (as other tools leave behind) older than STALE_MS
    const lock = join(env.home, 'x.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - STALE_MS - 5_000);
    utimesSync(lock, old, old);
    expect(await withFileLock(lock, () => Promise.resolve('ran'))).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('a live lock holder makes the next one wait', async () => {
    const lock = join(env.home, 'y.lock');
    const order: string[] = [];
    let release = (): void => undefined;
    const first = withFileLock(lock, () => {
      order.push('first in');
      return new Promise<void>((r) => (release = r)).then(() => void order.push('first out'));
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withFileLock(lock, () => Promise.resolve(void order.push('second in')));
    await new Promise((r) => setTimeout(r, 300));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });
});
