/**
 * The Hub cache exactly as huggingface_hub lays it out, so files Python tools downloaded are
 * reused here and the other way round:
 *
 * ```text
 * <cacheDir>/models--org--name/
 *   blobs/<etag>                      the file's bytes, named by its ETag (sha256 for LFS files)
 *   snapshots/<commit>/<file>         a relative symlink to ../../blobs/<etag>
 *   refs/<revision>                   the commit a branch or tag pointed to when last resolved
 *   .no_exist/<commit>/<file>         an empty marker: the file is not in that commit
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { isCommitHash } from './parseHubName.js';

/** The cache folder of one model repository. */
export class RepoCache {
  /** `<cacheDir>/models--org--name`. */
  readonly root: string;

  constructor(
    cacheDir: string,
    readonly repoId: string,
  ) {
    this.root = join(cacheDir, `models--${repoId.split('/').join('--')}`);
  }

  /** Where the bytes with this ETag live. */
  blobPath(etag: string): string {
    return join(this.root, 'blobs', etag);
  }

  /** The snapshot folder of a commit (what the model loader reads). */
  snapshotDir(commit: string): string {
    return join(this.root, 'snapshots', commit);
  }

  /** The snapshot entry of `file` at `commit`. */
  pointerPath(commit: string, file: string): string {
    return join(this.snapshotDir(commit), ...file.split('/'));
  }

  /** The commit `revision` names: itself for a commit hash, else what refs/ recorded (or undefined). */
  async commitOf(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = (await readFile(join(this.root, 'refs', ...revision.split('/')), 'utf8')).trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `revision` resolved to `commit` (nothing to record for a commit hash). */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return;
    const path = join(this.root, 'refs', ...revision.split('/'));
    if ((await this.commitOf(revision)) === commit) return;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, commit);
  }

  /** The cached file at `commit`, if its snapshot entry exists and is a regular file (or a link to one). */
  cachedFile(commit: string, file: string): string | undefined {
    const path = this.pointerPath(commit, file);
    try {
      return statSync(path).isFile() ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether an earlier run found `file` absent from `commit`. */
  knownMissing(commit: string, file: string): boolean {
    return existsSync(join(this.root, '.no_exist', commit, ...file.split('/')));
  }

  /** Remembers that `file` is absent from `commit`, as huggingface_hub does. */
  async markMissing(commit: string, file: string): Promise<void> {
    const path = join(this.root, '.no_exist', commit, ...file.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '');
  }

  /** Points the snapshot entry of `file` at `commit` to the blob (relative link, as huggingface_hub makes). */
  async link(commit: string, file: string, etag: string): Promise<string> {
    const pointer = this.pointerPath(commit, file);
    const target = relative(dirname(pointer), this.blobPath(etag));
    await mkdir(dirname(pointer), { recursive: true });
    const existing = await lstat(pointer).catch(() => undefined);
    if (existing?.isSymbolicLink() && (await readlink(pointer)) === target) return pointer;
    if (existing) await rm(pointer, { force: true });
    try {
      await symlink(target, pointer);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // EEXIST: another process made the same link meanwhile. EPERM: no symlinks here (Windows
      // without developer mode), where huggingface_hub copies the blob instead; so do we.
      if (code === 'EPERM') await copyFile(this.blobPath(etag), pointer);
      else if (code !== 'EEXIST') throw e;
    }
    return pointer;
  }
}
