// Downloading single files into the Hub cache, against a local stand-in for the Hub.
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  mkdirSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubIntegrityError, HubUnreachableError } from '../../src/errors.js';
import { downloadModel } from '../../src/loading/hub/downloadModel.js';
import { hubDownloadFile } from '../../src/loading/hub/hubDownloadFile.js';
import { hubSettings } from '../../src/loading/hub/HubOptions.js';
import { GPT2_TINY } from '../helpers/golden.js';
import { useHubEnv } from '../helpers/hubEnv.js';
import { folderFiles, gitSha1, LocalHub, sha256 } from '../helpers/localHub.js';
import { shardedFiles } from './hubShards.js';

const REPO = 'lazylens-test/gpt2-tiny';
const files = folderFiles(GPT2_TINY);
const weights = files['model.safetensors'];

describe('hubDownloadFile', () => {
  const env = useHubEnv();
  const get = (file: string, revision = 'main') =>
    hubDownloadFile(hubSettings(), { repoId: REPO, revision, file });

  it('lays out the cache as huggingface_hub does: blobs by ETag, snapshot symlinks, refs', async () => {
    const commit = env.hub.addRepo(REPO, files);
    const weightsPath = await get('model.safetensors');
    const configPath = await get('config.json');
    const root = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny');
    expect(weightsPath).toEqual({ path: join(root, 'snapshots', commit, 'model.safetensors') });
    expect(configPath).toEqual({ path: join(root, 'snapshots', commit, 'config.json') });
    expect(readFileSync(join(root, 'refs', 'main'), 'utf8')).toBe(commit);
    // LFS file: blob named by its sha256; the others by their git blob sha1
    const link = join(root, 'snapshots', commit, 'model.safetensors');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`../../blobs/${sha256(weights)}`);
    expect(readlinkSync(join(root, 'snapshots', commit, 'config.json'))).toBe(
      `../../blobs/${gitSha1(files['config.json'])}`,
    );
    expect(readFileSync(link).equals(weights)).toBe(true);
    expect(readdirSync(join(root, 'blobs')).sort()).toEqual(
      [sha256(weights), gitSha1(files['config.json'])].sort(),
    );
    // HEAD on the resolve URL, then one GET where its redirect pointed (the CDN); no token, no Authorization
    expect(env.hub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `HEAD /${REPO}/resolve/main/model.safetensors`,
      `GET /cdn/${REPO}/${sha256(weights)}/model.safetensors`,
      `HEAD /${REPO}/resolve/main/config.json`,
      `GET /${REPO}/resolve/main/config.json`,
    ]);
    expect(env.hub.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it('never fetches a file twice, and reuses a cache Python tools filled', async () => {
    const commit = env.hub.addRepo(REPO, files);
    // what huggingface_hub leaves behind after downloading config.json
    const root = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny');
    const etag = gitSha1(files['config.json']);
    mkdirSync(join(root, 'blobs'), { recursive: true });
    mkdirSync(join(root, 'snapshots', commit), { recursive: true });
    mkdirSync(join(root, 'refs'), { recursive: true });
    writeFileSync(join(root, 'blobs', etag), files['config.json']);
    symlinkSync(`../../blobs/${etag}`, join(root, 'snapshots', commit, 'config.json'));
    writeFileSync(join(root, 'refs', 'main'), commit);
    await get('config.json');
    await get('model.safetensors');
    await get('model.safetensors');
    expect(env.hub.gets('config.json')).toEqual([]);
    expect(env.hub.gets('model.safetensors')).toHaveLength(1);
    // with the commit as revision and the file cached, no request at all
    const before = env.hub.requests.length;
    await get('model.safetensors', commit);
    expect(env.hub.requests.length).toBe(before);
  });

  it('follows a renamed repository (relative 307) and an absolute CDN redirect', async () => {
    const commit = env.hub.addRepo(REPO, files);
    env.hub.rename('old-name/gpt2-tiny', REPO);
    env.hub.absoluteCdn = true;
    const r = await hubDownloadFile(hubSettings(), {
      repoId: 'old-name/gpt2-tiny',
      revision: 'main',
      file: 'model.safetensors',
    });
    expect('path' in r && readFileSync(r.path).equals(weights)).toBe(true);
    expect('path' in r && r.path).toContain(join('models--old-name--gpt2-tiny', 'snapshots', commit));
    expect(env.hub.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'HEAD /old-name/gpt2-tiny/resolve/main/model.safetensors',
      `HEAD /${REPO}/resolve/main/model.safetensors`,
      `GET /cdn/${REPO}/${sha256(weights)}/model.safetensors`,
    ]);
  });

  it('resumes a cut-off download with a Range request', async () => {
    env.hub.addRepo(REPO, files);
    env.hub.cutAfter('model.safetensors', 100_000);
    const seen: number[] = [];
    const r = await hubDownloadFile(
      hubSettings(),
      { repoId: REPO, revision: 'main', file: 'model.safetensors' },
      (bytes) => seen.push(bytes),
    );
    expect('path' in r && readFileSync(r.path).equals(weights)).toBe(true);
    const cdnGets = env.hub.gets('model.safetensors').filter((q) => q.path.startsWith('/cdn/'));
    expect(cdnGets.map((q) => q.range)).toEqual([undefined, 'bytes=100000-']);
    expect(seen.at(-1)).toBe(weights.length);
    const blobs = readdirSync(join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'blobs'));
    expect(blobs).toEqual([sha256(weights)]); // no .incomplete or .lock left behind
  });

  it('keeps the partial file when every attempt is cut off, and the next run resumes it', async () => {
    env.hub.addRepo(REPO, files);
    env.hub.cutAfter('model.safetensors', 50_000, 3);
    const err = await get('model.safetensors').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubUnreachableError);
    expect((err as Error).message).toMatch(
      /cut off 3 times .* kept in .*\.incomplete and the next run resumes/,
    );
    const blob = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'blobs', sha256(weights));
    expect(readFileSync(`${blob}.incomplete`).length).toBe(50_000 * 3);
    await get('model.safetensors');
    const ranges = env.hub.gets('model.safetensors').filter((q) => q.path.startsWith('/cdn/'));
    expect(ranges.map((q) => q.range)).toEqual([undefined, 'bytes=50000-', 'bytes=100000-', 'bytes=150000-']);
    expect(readFileSync(blob).equals(weights)).toBe(true);
    expect(existsSync(`${blob}.incomplete`)).toBe(false);
  });

  it('rejects a corrupted download (sha256 or git hash mismatch) and caches nothing', async () => {
    env.hub.addRepo(REPO, files);
    env.hub.corrupt.add('model.safetensors');
    env.hub.corrupt.add('config.json');
    await expect(get('model.safetensors')).rejects.toThrow(HubIntegrityError);
    await expect(get('model.safetensors')).rejects.toThrow(
      new RegExp(
        `model\\.safetensors of ${REPO}: the download's sha256 is [0-9a-f]{64}; expected ${sha256(weights)}`,
      ),
    );
    await expect(get('config.json')).rejects.toThrow(/the download's git-sha1 is .*expected/);
    const root = join(env.cacheDir, 'models--lazylens-test--gpt2-tiny');
    expect(readdirSync(join(root, 'blobs'))).toEqual([]);
    expect(existsSync(join(root, 'snapshots'))).toBe(false);
    // once the server is fixed, the same call succeeds
    env.hub.corrupt.clear();
    const r = await get('model.safetensors');
    expect('path' in r && readFileSync(r.path).equals(weights)).toBe(true);
  });

  it('offline: serves the cache without a request, and says what is missing', async () => {
    const commit = env.hub.addRepo(REPO, files);
    await get('config.json');
    env.hub.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    const r = await get('config.json');
    expect(r).toEqual({
      path: join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'snapshots', commit, 'config.json'),
    });
    await expect(get('model.safetensors')).rejects.toThrow(
      /model\.safetensors of lazylens-test\/gpt2-tiny@main: HF_HUB_OFFLINE=1 is set, and it is not in the cache \(.*snapshots\/[0-9a-f]{40}\/model\.safetensors does not exist/,
    );
    await expect(
      hubDownloadFile(hubSettings(), { repoId: 'other/model', revision: 'main', file: 'config.json' }),
    ).rejects.toThrow(
      /models--other--model has no snapshot for revision 'main'.*HF_HUB_OFFLINE=1 is set: unset it/,
    );
    expect(env.hub.requests).toEqual([]);
  });

  it('falls back to the cache when the Hub is unreachable, else names the cause', async () => {
    env.hub.addRepo(REPO, files);
    await get('config.json');
    const url = env.hub.url;
    await env.hub.close();
    const r = await get('config.json');
    expect('path' in r && readFileSync(r.path).equals(files['config.json'])).toBe(true);
    await expect(get('tokenizer.json')).rejects.toThrow(
      new RegExp(
        `tokenizer\\.json of ${REPO}@main: Cannot reach ${url} \\(ECONNREFUSED\\), and it is not in the cache`,
      ),
    );
    // a server error (5xx) is treated the same way
    env.hub = await LocalHub.start();
    process.env.HF_ENDPOINT = env.hub.url;
    env.hub.failAll = 503;
    const again = await get('config.json');
    expect('path' in again).toBe(true);
  });

  it('reports a file the repository lacks as missing and remembers it in .no_exist', async () => {
    const commit = env.hub.addRepo(REPO, { 'config.json': files['config.json'] });
    expect(await get('tokenizer.json')).toEqual({ missing: true });
    const marker = join(
      env.cacheDir,
      'models--lazylens-test--gpt2-tiny',
      '.no_exist',
      commit,
      'tokenizer.json',
    );
    expect(existsSync(marker)).toBe(true);
    process.env.HF_HUB_OFFLINE = '1';
    expect(await get('tokenizer.json')).toEqual({ missing: true });
  });

  it('offline, a cached snapshot without its tokenizer files still resolves (they are optional)', async () => {
    const commit = env.hub.addRepo(REPO, files);
    await get('config.json');
    await get('model.safetensors');
    process.env.HF_HUB_OFFLINE = '1';
    const { folder } = await downloadModel({ repoId: REPO, revision: 'main' }, { progressBar: false });
    expect(folder).toBe(join(env.cacheDir, 'models--lazylens-test--gpt2-tiny', 'snapshots', commit));
    expect(readdirSync(folder).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('a tokenizer download that keeps being cut off fails the load (it is not taken as absent)', async () => {
    env.hub.addRepo(REPO, files);
    env.hub.cutAfter('tokenizer.json', 1000, 3);
    await expect(downloadModel({ repoId: REPO, revision: 'main' }, { progressBar: false })).rejects.toThrow(
      /Downloading tokenizer\.json of lazylens-test\/gpt2-tiny: cut off 3 times/,
    );
  });

  it('downloads a sharded checkpoint: the index and every shard it lists', async () => {
    env.hub.addRepo(REPO, shardedFiles(files));
    const { folder } = await downloadModel({ repoId: REPO, revision: 'main' }, { progressBar: false });
    expect(readdirSync(folder).sort()).toEqual(
      [
        'config.json',
        'model-00001-of-00002.safetensors',
        'model-00002-of-00002.safetensors',
        'model.safetensors.index.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ].sort(),
    );
  });
});
