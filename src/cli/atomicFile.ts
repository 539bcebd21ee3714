/**
 * Every file the CLI writes goes through here: it is written under a temporary name in the same
 * folder and renamed over the target only once complete, so a failure, Ctrl-C or a full disk
 * leaves the old file as it was (a rename within one folder is atomic), and nothing half-written.
 */
import { realpathSync, unlinkSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from '../errors.js';

/** Temporary files not yet renamed; removed by {@link removePendingTemps} on an interrupt. */
const pending = new Set<string>();

/** The file a path names after following symlinks (itself when it does not exist yet). */
export function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Runs `write(tmp)` with a fresh temporary path next to `path`, then renames it onto `path`
 * (onto the file a symlink points to, so the link survives). On any failure the temporary file
 * is removed and the error is passed on; `path` is untouched.
 */
export async function withAtomicFile<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const target = realTarget(path);
  const tmp = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`,
  );
  pending.add(tmp);
  try {
    const result = await write(tmp);
    await rename(tmp, target);
    return result;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    pending.delete(tmp);
  }
}

/**
 * Writes `text` to `path` atomically.
 * @throws CliError naming the file and the system's reason (ENOSPC, EACCES, …).
 */
export async function writeFileAtomic(path: string, text: string, what = 'the output'): Promise<void> {
  try {
    await withAtomicFile(path, (tmp) => writeFile(tmp, text, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new CliError(
      `Cannot write ${what} to ${JSON.stringify(path)}: ${code}; expected a writable file path.`,
    );
  }
}

/**
 * Removes every temporary file still being written. Synchronous, because it runs in a signal
 * handler just before the process exits.
 */
export function removePendingTemps(): void {
  for (const tmp of pending) {
    try {
      unlinkSync(tmp);
    } catch {
      // Not created yet, or already gone: nothing to clean.
    }
  }
  pending.clear();
}
