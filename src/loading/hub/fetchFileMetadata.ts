/**
 * What the Hub says about one file before downloading it: a HEAD request on
 * `{endpoint}/{repo}/resolve/{revision}/{file}` gives the commit (`X-Repo-Commit`), the ETag
 * (`X-Linked-Etag`, the sha256, for LFS files; else `ETag`, the git blob hash), the size, and
 * where to GET the bytes (a redirect to a CDN for LFS files).
 */
import { HubAuthError, HubError, HubUnreachableError, ModelNotFoundError } from '../../errors.js';
import { closestNames } from '../../util/closestNames.js';
import type { HubSettings } from './hubSettings.js';
import { knownModelNames } from './modelAliases.js';

/** Redirects followed per request, at most (a renamed repository, then a CDN). */
export const MAX_REDIRECTS = 10;
/** Seconds to wait for the Hub to answer a HEAD request (huggingface_hub's default). */
const HEAD_TIMEOUT_MS = 10_000;

/** A file the Hub has. */
export interface FileMetadata {
  /** The 40-hex commit the revision resolved to. */
  commit: string;
  /** The ETag without quotes: a sha256 for LFS files, the git blob sha1 otherwise. */
  etag: string;
  /** Bytes, when the Hub says. */
  size?: number;
  /** Where to GET the bytes (after the Hub's own redirect, if it gave one). */
  url: string;
}

/** The HEAD answer: the file, or its absence from a repository and revision that exist. */
export type MetadataResult = { found: true; meta: FileMetadata } | { found: false; commit?: string };

/** `{endpoint}/{repo}/resolve/{revision}/{file}`, each part URL-encoded. */
export function resolveUrl(settings: HubSettings, repoId: string, revision: string, file: string): string {
  const path = file.split('/').map(encodeURIComponent).join('/');
  return `${settings.endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

/** Headers for a request to `url`: the token goes to the Hub's own origin only, never to a CDN. */
export function hubHeaders(settings: HubSettings, url: string, extra: Record<string, string> = {}): Headers {
  const headers = new Headers({ 'user-agent': 'lazylens', 'accept-encoding': 'identity', ...extra });
  if (settings.token && new URL(url).origin === new URL(settings.endpoint).origin) {
    headers.set('authorization', `Bearer ${settings.token}`);
  }
  return headers;
}

/** An ETag header without `W/` and quotes. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Why a fetch failed, in words (Node's fetch hides the cause behind "fetch failed"). */
export function networkCause(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

/** What a file request is about, for error messages. */
export interface FileContext {
  repoId: string;
  revision: string;
  file: string;
}

/**
 * The error for a failed Hub response, or `'missing'` when the repository and revision exist but
 * the file does not. Mirrors the Hub's `X-Error-Code` header: RepoNotFound (401/404 — the Hub
 * answers 401 for a repository that does not exist, so as not to reveal private ones),
 * GatedRepo, RevisionNotFound, EntryNotFound.
 */
export function hubResponseError(
  settings: HubSettings,
  ctx: FileContext,
  status: number,
  errorCode: string | null,
): Error | 'missing' {
  const { repoId, revision, file } = ctx;
  const page = `${settings.endpoint}/${repoId}`;
  if (errorCode === 'EntryNotFound') return 'missing';
  if (errorCode === 'RevisionNotFound') {
    return new ModelNotFoundError(
      `Revision '${revision}' of ${repoId}: not found on ${settings.endpoint} (HTTP ${status}); ` +
        `expected a branch, tag or commit of the repository (see ${page}/tree/main).`,
    );
  }
  if (errorCode === 'GatedRepo' || status === 403 || (status === 401 && errorCode !== 'RepoNotFound')) {
    const how = settings.token
      ? 'the token in HF_TOKEN has no access to it: accept the license on its page with that account'
      : 'no token was given: set HF_TOKEN to a Hugging Face access token of an account that has access';
    return new HubAuthError(
      `Model ${repoId}: the Hub refused ${file} (HTTP ${status}${errorCode ? `, ${errorCode}` : ''}), ` +
        `it is gated or private and ${how} (${page}).`,
    );
  }
  if (errorCode === 'RepoNotFound' || status === 401) {
    const near = closestNames(repoId, knownModelNames());
    return new ModelNotFoundError(
      `Model '${repoId}': no such repository on ${settings.endpoint} (HTTP ${status}); expected a Hub ` +
        `repo id 'org/name' or a TransformerLens model name.` +
        (near.length ? ` Did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '') +
        (settings.token ? '' : ' For a private repository, set HF_TOKEN.'),
    );
  }
  if (status === 404) return 'missing';
  if (status >= 500 || status === 429) {
    return new HubUnreachableError(`${settings.endpoint} answered HTTP ${status} for ${file} of ${repoId}.`);
  }
  return new HubError(
    `${file} of ${repoId}@${revision}: unexpected HTTP ${status} from ${settings.endpoint}; expected 200 or a redirect.`,
  );
}

/**
 * HEADs a file, following redirects (relative or absolute; at most {@link MAX_REDIRECTS}) until a
 * response carries `X-Repo-Commit`.
 * @throws HubUnreachableError when the Hub cannot be reached (the caller may fall back to the
 *   cache); ModelNotFoundError, HubAuthError for the Hub's refusals.
 */
export async function fetchFileMetadata(settings: HubSettings, ctx: FileContext): Promise<MetadataResult> {
  let url = resolveUrl(settings, ctx.repoId, ctx.revision, ctx.file);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'HEAD',
        headers: hubHeaders(settings, url),
        redirect: 'manual',
        signal: AbortSignal.timeout(HEAD_TIMEOUT_MS),
      });
    } catch (e) {
      const err = new HubUnreachableError(`Cannot reach ${settings.endpoint} (${networkCause(e)}).`);
      err.cause = e;
      throw err;
    }
    const commit = res.headers.get('x-repo-commit') ?? undefined;
    const etagHeader = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
    const sizeHeader = res.headers.get('x-linked-size') ?? res.headers.get('content-length');
    const location = res.headers.get('location');
    const redirect = res.status >= 300 && res.status < 400;
    if (redirect && !location) {
      throw new HubError(`${url}: HTTP ${res.status} without a Location header; expected a redirect target.`);
    }
    const next = redirect && location ? new URL(location, url).href : url;
    if ((res.ok || redirect) && commit && etagHeader) {
      const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : undefined;
      const meta: FileMetadata = { commit, etag: normalizeEtag(etagHeader), url: next };
      if (size !== undefined) meta.size = size;
      return { found: true, meta };
    }
    if (redirect) {
      url = next;
      continue;
    }
    if (res.ok) {
      throw new HubError(
        `${url}: the answer has no X-Repo-Commit or ETag header; expected a Hugging Face Hub at ${settings.endpoint} (HF_ENDPOINT).`,
      );
    }
    const err = hubResponseError(settings, ctx, res.status, res.headers.get('x-error-code'));
    if (err === 'missing') return { found: false, ...(commit ? { commit } : {}) };
    throw err;
  }
  throw new HubError(
    `${ctx.file} of ${ctx.repoId}: more than ${MAX_REDIRECTS} redirects from ${settings.endpoint}; expected at most ${MAX_REDIRECTS}.`,
  );
}
