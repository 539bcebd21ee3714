/**
 * One file of a Hub repository, from the cache when it is there, else downloaded into it — the
 * same decisions huggingface_hub's `hf_hub_download` makes, so the two share one cache.
 */
import { existsSync } from 'node:fs';
import { HubUnreachableError } from '../../errors.js';
import { downloadBlob, type BytesCallback } from './downloadBlob.js';
import { fetchFileMetadata, type FileContext } from './fetchFileMetadata.js';
import { RepoCache } from './hubCache.js';
import type { HubSettings } from './hubSettings.js';
import { isCommitHash } from './parseHubName.js';
import { withFileLock } from './withFileLock.js';

/** Where a file request ended: a local path, or the file's absence from the repository. */
export type FileResult = { path: string } | { missing: true };

const NOT_CACHED = new WeakSet<Error>();

function notCached(message: string): HubUnreachableError {
  const e = new HubUnreachableError(message);
  NOT_CACHED.add(e);
  return e;
}

/**
 * Whether `e` says a file could not be fetched (offline, or the Hub unreachable) and is not in the
 * cache — as opposed to a download that started and failed.
 */
export function isNotCachedError(e: unknown): boolean {
  return e instanceof HubUnreachableError && NOT_CACHED.has(e);
}

/** The cache-only answer (offline, or the Hub unreachable), or an error naming what is missing. */
async function fromCache(
  settings: HubSettings,
  cache: RepoCache,
  ctx: FileContext,
  why: string,
): Promise<FileResult> {
  const commit = await cache.commitOf(ctx.revision);
  if (commit) {
    const path = cache.cachedFile(commit, ctx.file);
    if (path) return { path };
    if (cache.knownMissing(commit, ctx.file)) return { missing: true };
  }
  const where = commit
    ? `${cache.pointerPath(commit, ctx.file)} does not exist`
    : `${cache.root} has no snapshot for revision '${ctx.revision}'`;
  throw notCached(
    `${ctx.file} of ${ctx.repoId}@${ctx.revision}: ${why}, and it is not in the cache (${where}; ` +
      `cache from HF_HUB_CACHE or HF_HOME). Expected a cached copy: download it once with network access` +
      `${settings.offline ? ' (HF_HUB_OFFLINE=1 is set: unset it)' : ''}.`,
  );
}

/**
 * The local path of `file` at `revision` of `repoId` (a snapshot entry, linking to its blob), or
 * `{ missing: true }` when the repository has no such file.
 *
 * A file already in the snapshot the revision points to is never downloaded again; a blob
 * another revision (or another process) already fetched is linked, not fetched; a download in
 * progress in another process is waited for.
 */
export async function hubDownloadFile(
  settings: HubSettings,
  ctx: FileContext,
  onBytes: BytesCallback = () => undefined,
): Promise<FileResult> {
  const cache = new RepoCache(settings.cacheDir, ctx.repoId);
  if (isCommitHash(ctx.revision)) {
    const path = cache.cachedFile(ctx.revision, ctx.file);
    if (path) return { path };
  }
  if (settings.offline) return fromCache(settings, cache, ctx, 'HF_HUB_OFFLINE=1 is set');
  let result;
  try {
    result = await fetchFileMetadata(settings, ctx);
  } catch (e) {
    if (!(e instanceof HubUnreachableError)) throw e;
    return fromCache(settings, cache, ctx, e.message.replace(/\.$/, ''));
  }
  if (!result.found) {
    if (result.commit) {
      await cache.writeRef(ctx.revision, result.commit);
      await cache.markMissing(result.commit, ctx.file);
    }
    return { missing: true };
  }
  const { meta } = result;
  await cache.writeRef(ctx.revision, meta.commit);
  const cached = cache.cachedFile(meta.commit, ctx.file);
  if (cached) return { path: cached };
  const blob = cache.blobPath(meta.etag);
  if (!existsSync(blob)) {
    await withFileLock(`${blob}.lock`, async () => {
      // The process that held the lock before us may have finished this very blob.
      if (!existsSync(blob)) await downloadBlob(settings, ctx, meta, blob, onBytes);
    });
  }
  return { path: await cache.link(meta.commit, ctx.file, meta.etag) };
}
