/**
 * Downloads one file's bytes into the cache: into `<blob>.incomplete` first (resumed with a
 * `Range` request when a previous attempt left part of it), checked against its ETag and size,
 * then renamed to the blob, so a blob in the cache is always whole and verified.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { HubError, HubIntegrityError, HubUnreachableError } from '../../errors.js';
import {
  hubHeaders,
  hubResponseError,
  MAX_REDIRECTS,
  networkCause,
  type FileContext,
  type FileMetadata,
} from './fetchFileMetadata.js';
import type { HubSettings } from './hubSettings.js';

/** Tries per download; each retry resumes where the last one stopped. */
export const MAX_ATTEMPTS = 3;
/** A download that receives nothing for this long is dropped and resumed. */
const IDLE_TIMEOUT_MS = 30_000;

/** Called as bytes arrive: `bytes` so far out of `total` (undefined when the Hub did not say). */
export type BytesCallback = (bytes: number, total: number | undefined) => void;

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The hash an ETag promises, if it is one: sha256 (LFS files) or a git blob sha1 (the rest). */
function etagKind(etag: string): 'sha256' | 'git-sha1' | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

async function hashFile(path: string, kind: 'sha256' | 'git-sha1'): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  // git names a blob by the sha1 of "blob <size>\0" followed by its bytes.
  if (kind === 'git-sha1') hash.update(`blob ${await sizeOf(path)}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One GET into `partial`, resuming from its current size; throws on a dropped connection. */
async function getOnce(
  settings: HubSettings,
  ctx: FileContext,
  meta: FileMetadata,
  partial: string,
  onBytes: BytesCallback,
): Promise<void> {
  let have = await sizeOf(partial);
  if (meta.size !== undefined && have > meta.size) {
    await truncate(partial, 0);
    have = 0;
  }
  if (meta.size !== undefined && have === meta.size) return;
  // A connection that goes silent is dropped (and resumed) rather than waited on forever.
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
  const alive = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(), IDLE_TIMEOUT_MS);
  };
  try {
    const res = await follow(settings, ctx, meta.url, have, abort.signal);
    if (res.status === 416) {
      // Our partial file does not fit the server's: start again.
      await res.body?.cancel();
      await truncate(partial, 0);
      throw new RetryableError('the server refused the resume range');
    }
    if (!res.ok) {
      await res.body?.cancel();
      const err = hubResponseError(settings, ctx, res.status, res.headers.get('x-error-code'));
      throw err === 'missing'
        ? new HubError(`${ctx.file}: HTTP ${res.status} on download, after the Hub said it exists.`)
        : err;
    }
    // 206 continues the partial file; 200 (a server that ignores Range) sends it all again.
    const resumed =
      res.status === 206 && new RegExp(`^bytes ${have}-`).test(res.headers.get('content-range') ?? '');
    if (!resumed) have = 0;
    const handle = await open(partial, resumed ? 'a' : 'w');
    try {
      if (!res.body) return;
      for await (const chunk of res.body) {
        alive();
        await handle.write(chunk);
        have += chunk.byteLength;
        onBytes(have, meta.size);
      }
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (abort.signal.aborted) throw new RetryableError(`no data for ${IDLE_TIMEOUT_MS / 1000} s`);
    throw e;
  } finally {
    clearTimeout(idle);
  }
}

/** GETs `url` from byte `from` on, following redirects (at most {@link MAX_REDIRECTS}). */
async function follow(
  settings: HubSettings,
  ctx: FileContext,
  start: string,
  from: number,
  signal: AbortSignal,
): Promise<Response> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const range: Record<string, string> = from > 0 ? { range: `bytes=${from}-` } : {};
    const res = await fetch(url, { headers: hubHeaders(settings, url, range), redirect: 'manual', signal });
    const location = res.headers.get('location');
    if (!(res.status >= 300 && res.status < 400 && location)) return res;
    await res.body?.cancel();
    url = new URL(location, url).href;
  }
  throw new HubError(
    `${ctx.file} of ${ctx.repoId}: more than ${MAX_REDIRECTS} redirects; expected at most ${MAX_REDIRECTS}.`,
  );
}

/** A failure worth another attempt (the partial file is kept and resumed). */
class RetryableError extends Error {}

/**
 * Downloads `meta.url` to `blob` (resuming `blob.incomplete`), verifies it and renames it into place.
 * @throws HubIntegrityError when the bytes do not match the ETag or size (the partial file is
 *   deleted); HubUnreachableError when every attempt was cut off (the partial file is kept).
 */
export async function downloadBlob(
  settings: HubSettings,
  ctx: FileContext,
  meta: FileMetadata,
  blob: string,
  onBytes: BytesCallback,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  let lastError: unknown;
  let done = false;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && !done; attempt++) {
    try {
      await getOnce(settings, ctx, meta, partial, onBytes);
      done = true;
    } catch (e) {
      const network = e instanceof TypeError || e instanceof RetryableError;
      if (!network) throw e;
      lastError = e;
    }
  }
  if (!done) {
    const err = new HubUnreachableError(
      `Downloading ${ctx.file} of ${ctx.repoId}: cut off ${MAX_ATTEMPTS} times (${networkCause(lastError)}); ` +
        `the ${await sizeOf(partial)} bytes received are kept in ${partial} and the next run resumes from there.`,
    );
    err.cause = lastError;
    throw err;
  }
  const size = await sizeOf(partial);
  if (meta.size !== undefined && size !== meta.size) {
    await rm(partial, { force: true });
    throw new HubIntegrityError(
      `${ctx.file} of ${ctx.repoId}: downloaded ${size} bytes; expected ${meta.size} (the Hub's size). The file was deleted; run again.`,
    );
  }
  const kind = etagKind(meta.etag);
  if (kind) {
    const got = await hashFile(partial, kind);
    if (got !== meta.etag) {
      await rm(partial, { force: true });
      throw new HubIntegrityError(
        `${ctx.file} of ${ctx.repoId}: the download's ${kind} is ${got}; expected ${meta.etag} (its ETag). ` +
          'The corrupted file was deleted, not cached; run again.',
      );
    }
  }
  await rename(partial, blob);
}
