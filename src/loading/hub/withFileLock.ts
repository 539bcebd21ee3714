/**
 * A lock file beside a blob (`<blob>.lock`), so two processes that want the same file do not
 * both download it: the second waits, then finds the blob and reuses it.
 *
 * Node has no portable advisory lock, so the lock is a file created exclusively (`O_EXCL`) that
 * holds `pid@host`. Its owner touches it every second; a waiter takes over a lock whose owner
 * has died (same host, no such process) or that has not been touched for {@link STALE_MS}
 * (a crash on another host, or an empty lock file left by another tool).
 */
import { hostname } from 'node:os';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A lock untouched for this long is abandoned. */
export const STALE_MS = 15_000;
const HEARTBEAT_MS = 1_000;
const POLL_MS = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function ownerTag(): string {
  return `${process.pid}@${hostname()}`;
}

/** Whether the owner recorded in a lock file is gone. */
async function isStale(path: string): Promise<boolean> {
  let content: string;
  let mtimeMs: number;
  try {
    [content, { mtimeMs }] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  } catch {
    return false; // gone already: the next exclusive create decides
  }
  if (Date.now() - mtimeMs > STALE_MS) return true;
  const m = /^(\d+)@(.*)$/.exec(content.trim());
  if (!m || m[2] !== hostname()) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Runs `fn` holding the lock at `path` (created beside the file it protects); waits while another
 * live process holds it. The lock is removed when `fn` settles.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(ownerTag());
      } finally {
        await handle.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(path)) await unlink(path).catch(() => undefined);
    else await sleep(POLL_MS);
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Only remove our own lock: a waiter may have judged it stale and taken over.
    const content = await readFile(path, 'utf8').catch(() => '');
    if (content === ownerTag()) await unlink(path).catch(() => undefined);
  }
}
