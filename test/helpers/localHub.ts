// A stand-in for the Hugging Face Hub on 127.0.0.1, serving in-memory repositories in the Hub's
// URL layout (`/{repo}/resolve/{revision}/{file}`) with its headers and status codes: X-Repo-Commit,
// ETag (git blob sha1) for small files, a 302 to a CDN path with X-Linked-Etag (sha256) and
// X-Linked-Size for LFS files (*.safetensors), 401 RepoNotFound/GatedRepo, 404
// RevisionNotFound/EntryNotFound, 307 for renamed repositories, and Range requests. Tests can
// make it cut a body short, corrupt a file or trickle bytes slowly.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  /** When the request arrived, and (GET) when its body was finished or cut (ms since the epoch). */
  at: number;
  doneAt?: number;
}

interface Repo {
  /** commit → file → bytes */
  commits: Map<string, Map<string, Buffer>>;
  /** branch or tag → commit */
  refs: Map<string, string>;
  /** When set, only this bearer token may read the repository. */
  gatedToken?: string;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer): string =>
  createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const isLfs = (file: string): boolean => file.endsWith('.safetensors');

/** Every file of a fixture folder, by name. */
export function folderFiles(dir: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
}

export class LocalHub {
  readonly requests: LoggedRequest[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly renamed = new Map<string, string>();
  /** LFS redirects give an absolute Location (`http://127.0.0.1:port/cdn/…`) instead of a relative one. */
  absoluteCdn = false;
  /** Pause between 4 KiB chunks of a body (so two downloads overlap). */
  chunkDelayMs = 0;
  /** file name → bytes to send before cutting the connection, once per entry in the list. */
  private readonly cuts = new Map<string, number[]>();
  /** file names served with one byte changed. */
  readonly corrupt = new Set<string>();
  /** Answer everything with this status (e.g. 503), when set. */
  failAll?: number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LocalHub> {
    const holder: { hub?: LocalHub } = {};
    const server = createServer((req, res) => {
      holder.hub?.handle(req, res).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    holder.hub = new LocalHub(server, `http://127.0.0.1:${port}`);
    return holder.hub;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  /** Adds (or extends) a repository: `files` at `revision` (a branch), in a new commit; returns the commit. */
  addRepo(
    repoId: string,
    files: Record<string, Buffer | string>,
    opts: { revision?: string; gatedToken?: string } = {},
  ): string {
    const revision = opts.revision ?? 'main';
    const repo: Repo = this.repos.get(repoId) ?? { commits: new Map(), refs: new Map() };
    if (opts.gatedToken) repo.gatedToken = opts.gatedToken;
    const map = new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
    const commit = createHash('sha1').update(`${repoId}@${revision}#${repo.commits.size}`).digest('hex');
    repo.commits.set(commit, map);
    repo.refs.set(revision, commit);
    this.repos.set(repoId, repo);
    return commit;
  }

  /** Requests for `oldId` answer 307 to `newId` (a relative Location, as the Hub does). */
  rename(oldId: string, newId: string): void {
    this.renamed.set(oldId, newId);
  }

  /** The next `count` downloads of `file` stop after `bytes` bytes. */
  cutAfter(file: string, bytes: number, count = 1): void {
    this.cuts.set(
      file,
      Array.from({ length: count }, () => bytes),
    );
  }

  /** GET requests for a file (on resolve or CDN URLs), for counting downloads. */
  gets(file: string): LoggedRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${file}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURI((req.url ?? '/').split('?')[0]);
    const logged: LoggedRequest = {
      at: Date.now(),
      method: req.method ?? '',
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    this.requests.push(logged);
    res.on('close', () => (logged.doneAt = Date.now()));
    if (this.failAll) return void res.writeHead(this.failAll).end();
    const cdn = /^\/cdn\/(.+)\/([0-9a-f]{64})\/(.+)$/.exec(path);
    if (cdn) {
      const [, repoId, hash, file] = cdn;
      const bytes = this.findBlob(repoId, hash);
      if (!bytes) return void res.writeHead(404).end();
      return this.sendBytes(req, res, file, bytes, { etag: `"cdn-${hash.slice(0, 8)}"` });
    }
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return void res.writeHead(404).end('not a resolve URL');
    const [, repoId, rawRev, file] = m;
    const revision = decodeURIComponent(rawRev);
    const newId = this.renamed.get(repoId);
    if (newId) {
      res.writeHead(307, { location: `/${newId}/resolve/${rawRev}/${file}` });
      return void res.end();
    }
    const repo = this.repos.get(repoId);
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    if (!repo) {
      res.writeHead(token ? 404 : 401, { 'x-error-code': 'RepoNotFound' });
      return void res.end('Repository not found');
    }
    if (repo.gatedToken && token !== repo.gatedToken) {
      res.writeHead(token ? 403 : 401, { 'x-error-code': 'GatedRepo' });
      return void res.end('Access to this model is restricted');
    }
    const commit = repo.commits.has(revision) ? revision : repo.refs.get(revision);
    if (!commit) {
      res.writeHead(404, { 'x-error-code': 'RevisionNotFound' });
      return void res.end('Invalid revision');
    }
    const bytes = repo.commits.get(commit)?.get(file);
    if (!bytes) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': commit });
      return void res.end('Entry not found');
    }
    if (isLfs(file)) {
      const hash = sha256(bytes);
      const cdnPath = `/cdn/${repoId}/${hash}/${file}`;
      res.writeHead(302, {
        location: this.absoluteCdn ? `${this.url}${cdnPath}` : cdnPath,
        'x-repo-commit': commit,
        'x-linked-etag': `"${hash}"`,
        'x-linked-size': String(bytes.length),
        etag: `"${gitSha1(Buffer.from(`pointer ${hash}`))}"`,
      });
      return void res.end();
    }
    return this.sendBytes(req, res, file, bytes, {
      etag: `"${gitSha1(bytes)}"`,
      'x-repo-commit': commit,
    });
  }

  private findBlob(repoId: string, hash: string): Buffer | undefined {
    for (const files of this.repos.get(repoId)?.commits.values() ?? []) {
      for (const b of files.values()) if (sha256(b) === hash) return b;
    }
    return undefined;
  }

  private async sendBytes(
    req: IncomingMessage,
    res: ServerResponse,
    file: string,
    original: Buffer,
    headers: Record<string, string>,
  ): Promise<void> {
    let bytes = original;
    if (this.corrupt.has(file)) {
      bytes = Buffer.from(original);
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start > bytes.length) return void res.writeHead(416, headers).end();
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      ...headers,
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const cut = req.method === 'GET' ? this.cuts.get(file)?.shift() : undefined;
    const limit = cut ?? body.length;
    for (let off = 0; off < limit; off += 4096) {
      res.write(body.subarray(off, Math.min(limit, off + 4096)));
      if (this.chunkDelayMs) await new Promise((r) => setTimeout(r, this.chunkDelayMs));
    }
    if (cut !== undefined) {
      // Let the bytes go out, then drop the connection mid-body.
      await new Promise((r) => setTimeout(r, 20));
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}
