// How names and paths are told apart, the settings read from the environment, the alias table,
// and the progress bar — none of which needs a server.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { DownloadProgressBar } from '../../src/loading/hub/DownloadProgressBar.js';
import { hubSettingsFromEnv } from '../../src/loading/hub/hubSettings.js';
import { knownModelNames, MODEL_TABLE, officialModelName } from '../../src/loading/hub/modelAliases.js';
import { isRepoId, parseHubName } from '../../src/loading/hub/parseHubName.js';
import {
  hubModelRef,
  isShippedModelName,
  resolveModel,
  shippedModelNames,
} from '../../src/model/resolveModel.js';

describe('resolveModel: names and paths', () => {
  const cwd = process.cwd();
  const dirs: string[] = [];
  const temp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'lazylens-resolve-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    process.chdir(cwd);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("'.' and '..' are paths from the working directory, never the package's own folders", async () => {
    expect(isShippedModelName('induction-2l')).toBe(true);
    for (const name of ['.', '..', '.hidden', '../induction-2l', 'a/b', ''])
      expect(isShippedModelName(name)).toBe(false);
    expect(shippedModelNames()).toContain('induction-2l');
    const root = temp();
    const inner = join(root, 'a', 'b');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(root, 'a', 'config.json'), '{}');
    process.chdir(inner);
    expect(await resolveModel('..')).toEqual({ kind: 'hf', folder: join(root, 'a') });
    expect(await resolveModel('.')).toEqual({ kind: 'hf', folder: inner });
  });

  it('a FIFO named *.bin, or a FIFO model.bin in a folder, is refused at once instead of blocking', async () => {
    const dir = temp();
    const fifo = join(dir, 'stories.bin');
    execFileSync('mkfifo', [fifo]);
    await expect(resolveModel(fifo)).rejects.toThrow(ConfigError);
    await expect(resolveModel(fifo)).rejects.toThrow(
      /stories\.bin: not a regular file \(a FIFO, socket or device\); expected a llama2\.c \.bin checkpoint file/,
    );
    const folder = join(dir, 'ckpt');
    mkdirSync(folder);
    execFileSync('mkfifo', [join(folder, 'model.bin')]);
    await expect(resolveModel(folder)).rejects.toThrow(/model\.bin: not a regular file/);
  });

  it('sends TransformerLens names and org/name to the Hub, and nothing else', () => {
    expect(hubModelRef('gpt2-small')).toEqual({ repoId: 'gpt2', revision: 'main' });
    expect(hubModelRef('Pythia-70M@step1000')).toEqual({
      repoId: 'EleutherAI/pythia-70m',
      revision: 'step1000',
    });
    expect(hubModelRef('EleutherAI/pythia-160m')).toEqual({
      repoId: 'EleutherAI/pythia-160m',
      revision: 'main',
    });
    expect(hubModelRef('org/name@refs/pr/1')).toEqual({ repoId: 'org/name', revision: 'refs/pr/1' });
    for (const s of [
      'no-such-model',
      'a/b/c',
      '/abs/path',
      './x',
      'org/name@',
      'org/-bad',
      'org/a..b',
      'org/name@../x',
    ]) {
      expect(hubModelRef(s)).toBeUndefined();
    }
    expect(isRepoId('EleutherAI/gpt-neo-1.3B')).toBe(true);
    expect(parseHubName('gpt2')).toEqual({ repoId: 'gpt2', revision: 'main' });
  });

  it('a name that is nothing known fails with close names and the forms it could take', async () => {
    await expect(resolveModel('pythia-70n')).rejects.toThrow(
      /No model 'pythia-70n': not a shipped model name, a folder or a llama2\.c \.bin file, nor a TransformerLens model name or a Hub repo id\. Did you mean 'pythia-70m'.*'org\/name'/,
    );
  });
});

describe('TransformerLens model names', () => {
  it('maps official names and aliases, any case, to Hub repositories', () => {
    const cases: [string, string][] = [
      ['gpt2-small', 'gpt2'],
      ['distil-gpt2', 'distilgpt2'],
      ['neo', 'EleutherAI/gpt-neo-125M'],
      ['gpt-neo-125m', 'EleutherAI/gpt-neo-125M'],
      ['pythia', 'EleutherAI/pythia-70m'],
      ['pythia-v0', 'EleutherAI/pythia-70m-v0'],
      ['pythia-19m-deduped-v0', 'EleutherAI/pythia-70m-deduped-v0'],
      ['EleutherAI/pythia-1.3b', 'EleutherAI/pythia-1.4b'],
      ['pythia-125m-seed2', 'EleutherAI/pythia-160m-seed2'],
      ['pythia-14m', 'EleutherAI/pythia-14m'],
      ['neox', 'EleutherAI/gpt-neox-20b'],
      ['tiny-stories-33M', 'roneneldan/TinyStories-33M'],
      ['tiny-stories-instruct-1L-21M', 'roneneldan/TinyStories-Instuct-1Layer-21M'],
      ['stanford-gpt2-medium-c', 'stanford-crfm/celebrimbor-gpt2-medium-x81'],
      ['gpt2-mistral-small-a', 'stanford-crfm/alias-gpt2-small-x21'],
      ['Llama-2-7b-chat', 'meta-llama/Llama-2-7b-chat-hf'],
      ['meta-llama/llama-3.2-1b', 'meta-llama/Llama-3.2-1B'],
      ['CodeLlama-7b-python', 'codellama/CodeLlama-7b-Python-hf'],
    ];
    for (const [name, official] of cases) expect([name, officialModelName(name)]).toEqual([name, official]);
    expect(officialModelName('gpt-j')).toBeUndefined(); // GPT-J is not a family lazylens loads
    // 4 GPT-2 + distilgpt2 + 10 Stanford; 3 Neo + 14 TinyStories; neox-20b + 2 + 8×4 + 3 Pythia; 23 Llama
    expect(Object.values(MODEL_TABLE).map((rows) => rows.length)).toEqual([15, 17, 38, 23]);
    const officials = Object.values(MODEL_TABLE).flatMap((rows) => rows.map((r) => r[0]));
    expect(new Set(officials).size).toBe(officials.length);
    expect(knownModelNames()).toContain('gpt2-small');
  });
});

describe('Hub settings from the environment', () => {
  it('reads HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME and HF_HUB_OFFLINE as huggingface_hub does', () => {
    expect(hubSettingsFromEnv({})).toEqual({
      endpoint: 'https://huggingface.co',
      cacheDir: join(homedir(), '.cache', 'huggingface', 'hub'),
      offline: false,
    });
    expect(hubSettingsFromEnv({ XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/x/huggingface/hub');
    expect(hubSettingsFromEnv({ HF_HOME: '/h', XDG_CACHE_HOME: '/x' }).cacheDir).toBe('/h/hub');
    expect(hubSettingsFromEnv({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    expect(hubSettingsFromEnv({ HF_ENDPOINT: 'http://mirror/', HF_TOKEN: 'hf_x' })).toMatchObject({
      endpoint: 'http://mirror',
      token: 'hf_x',
    });
    expect(hubSettingsFromEnv({ HUGGING_FACE_HUB_TOKEN: 'hf_old' }).token).toBe('hf_old');
    for (const v of ['1', 'true', 'YES', 'on'])
      expect(hubSettingsFromEnv({ HF_HUB_OFFLINE: v }).offline).toBe(true);
    for (const v of ['0', 'false', '']) expect(hubSettingsFromEnv({ HF_HUB_OFFLINE: v }).offline).toBe(false);
  });
});

describe('DownloadProgressBar', () => {
  it('draws one updating line with size and percentage, and ends it when the file is done', () => {
    let written = '';
    const stream = {
      isTTY: true,
      write: (s: string) => ((written += s), true),
    } as unknown as NodeJS.WriteStream;
    expect(DownloadProgressBar.available(stream)).toBe(true);
    const bar = new DownloadProgressBar(stream);
    bar.update({ repoId: 'gpt2', file: 'model.safetensors', bytes: 124_000_000, total: 548_000_000 });
    bar.update({ repoId: 'gpt2', file: 'model.safetensors', bytes: 548_000_000, total: 548_000_000 });
    expect(written).toBe(
      '\r\x1b[2Kgpt2 model.safetensors 124.0 MB / 548.0 MB [#####...................] 22%' +
        '\r\x1b[2Kgpt2 model.safetensors 548.0 MB / 548.0 MB [########################] 100%\n',
    );
    expect(DownloadProgressBar.available({ isTTY: false } as NodeJS.WriteStream)).toBe(false);
  });
});
