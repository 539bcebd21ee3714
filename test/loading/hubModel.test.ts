// fromPretrained by name — TransformerLens names and aliases, `org/name`, `@revision` — from a
// local stand-in for the Hub, with the errors a user meets: unknown, gated, offline, no safetensors.
import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import {
  CheckpointError,
  ConfigError,
  HookedTransformer,
  HubAuthError,
  HubUnreachableError,
  InvalidArgumentError,
  ModelNotFoundError,
} from '../../src/index.js';
import type { DownloadProgress } from '../../src/loading/hub/DownloadProgressBar.js';
import { resolveModel } from '../../src/model/resolveModel.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { GPT2_TINY, maxAbsDiff } from '../helpers/golden.js';
import { useHubEnv } from '../helpers/hubEnv.js';
import { folderFiles } from '../helpers/localHub.js';
import { shardedFiles } from './hubShards.js';
import { captureIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const NEOX_TINY = fileURLToPath(new URL('../fixtures/neox-tiny', import.meta.url));
const gpt2Files = folderFiles(GPT2_TINY);
const neoxFiles = folderFiles(NEOX_TINY);
const TOKENS = [[1, 5, 9, 2, 7]];

/** Logits of `model` on a fixed prompt (disposes nothing but the input). */
async function logitsOf(model: HookedTransformer): Promise<tf.Tensor> {
  const tokens = tf.tensor2d(TOKENS, undefined, 'int32');
  const out = await model.forward(tokens);
  tokens.dispose();
  return out;
}

/** Whether two models give the same logits on the fixed prompt. */
async function sameLogits(a: HookedTransformer, b: HookedTransformer): Promise<number> {
  const [x, y] = [await logitsOf(a), await logitsOf(b)];
  const d = await maxAbsDiff(x, y);
  tf.dispose([x, y]);
  return d;
}

describeBackends(
  'fromPretrained from the Hub',
  () => {
    const env = useHubEnv();

    it("loads 'gpt2' (renamed on the Hub, as the real one is) and 'gpt2-small' from the same cache", async () => {
      env.hub.addRepo('openai-community/gpt2', gpt2Files);
      env.hub.rename('gpt2', 'openai-community/gpt2');
      const events: DownloadProgress[] = [];
      const model = await HookedTransformer.fromPretrained('gpt2', {
        hub: { onProgress: (p) => events.push(p), progressBar: false },
      });
      const local = await HookedTransformer.fromPretrained(GPT2_TINY);
      expect(model.cfg.modelName).toBe('gpt2');
      expect(await sameLogits(model, local)).toBe(0);
      const last = events.filter((e) => e.file === 'model.safetensors').at(-1);
      expect(last).toEqual({
        repoId: 'gpt2',
        file: 'model.safetensors',
        bytes: gpt2Files['model.safetensors'].length,
        total: gpt2Files['model.safetensors'].length,
      });
      const gets = env.hub.requests.filter((r) => r.method === 'GET').length;
      const alias = await HookedTransformer.fromPretrained('GPT2-Small', { hub: { progressBar: false } });
      expect(env.hub.requests.filter((r) => r.method === 'GET').length).toBe(gets);
      expect(alias.cfg.modelName).toBe('gpt2');
      [model, local, alias].forEach((m) => m.dispose());
    });

    it("loads 'EleutherAI/pythia-160m' and its alias 'pythia-125m', single-file and sharded", async () => {
      env.hub.addRepo('EleutherAI/pythia-160m', neoxFiles);
      env.hub.addRepo('EleutherAI/pythia-70m', shardedFiles(neoxFiles));
      const byId = await HookedTransformer.fromPretrained('EleutherAI/pythia-160m');
      const byAlias = await HookedTransformer.fromPretrained('pythia-125m');
      const sharded = await HookedTransformer.fromPretrained('pythia-70m');
      const local = await HookedTransformer.fromPretrained(NEOX_TINY);
      expect(byId.cfg.modelName).toBe('pythia-160m');
      expect(sharded.cfg.modelName).toBe('pythia-70m');
      expect(byId.cfg.originalArchitecture).toBe('GPTNeoXForCausalLM');
      expect(await sameLogits(byId, local)).toBe(0);
      expect(await sameLogits(byAlias, local)).toBe(0);
      expect(await sameLogits(sharded, local)).toBe(0);
      [byId, byAlias, sharded, local].forEach((m) => m.dispose());
    });

    it('the CLI: --model org/name downloads through the same path, its progress on the command line', async () => {
      env.hub.addRepo('EleutherAI/pythia-160m', neoxFiles);
      env.hub.chunkDelayMs = 5; // ~0.7 s for the weights: the progress line (every 100 ms) shows them
      const io = captureIo(true); // stderr as a terminal: progress is drawn
      const code = await main(
        ['run', '--model', 'EleutherAI/pythia-160m', '--top', '3', '--prompt', 'a b'],
        io,
      );
      expect(code).toBe(0);
      expect(io.stdout).toMatch(/EleutherAI\/pythia-160m/);
      expect(io.stderr).toMatch(/loading EleutherAI\/pythia-160m/);
      expect(io.stderr).toMatch(
        /downloading EleutherAI\/pythia-160m: model\.safetensors \d\.\d MB \/ 0\.6 MB/,
      );
      const local = captureIo();
      await main(['run', '--model', NEOX_TINY, '--top', '3', '--prompt', 'a b', '--json'], local);
      const viaHub = captureIo();
      await main(['run', '--model', 'pythia-160m', '--top', '3', '--prompt', 'a b', '--json'], viaHub);
      const preds = (out: string): unknown => (JSON.parse(out) as { predictions: unknown }).predictions;
      expect(preds(viaHub.stdout)).toEqual(preds(local.stdout));
    });

    it('loads offline from the cache with no request, and says what is missing when it is not there', async () => {
      env.hub.addRepo('EleutherAI/pythia-160m', neoxFiles);
      (await HookedTransformer.fromPretrained('EleutherAI/pythia-160m')).dispose();
      env.hub.requests.length = 0;
      process.env.HF_HUB_OFFLINE = '1';
      const model = await HookedTransformer.fromPretrained('pythia-160m');
      expect(model.cfg.modelName).toBe('pythia-160m');
      model.dispose();
      const err = await HookedTransformer.fromPretrained('gpt2').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubUnreachableError);
      expect((err as Error).message).toMatch(
        /config\.json of gpt2@main: HF_HUB_OFFLINE=1 is set, and it is not in the cache \(.*models--gpt2 has no snapshot for revision 'main'; cache from HF_HUB_CACHE or HF_HOME\)/,
      );
      expect(env.hub.requests).toEqual([]);
    });
  },
  WASM_ONLY,
);

describeBackends(
  'Hub names and their errors',
  () => {
    const env = useHubEnv();

    it('resolves org/name@revision to that revision’s commit snapshot', async () => {
      const main = env.hub.addRepo('EleutherAI/pythia-160m', neoxFiles);
      const step = env.hub.addRepo('EleutherAI/pythia-160m', neoxFiles, { revision: 'step3000' });
      const a = await resolveModel('EleutherAI/pythia-160m@step3000', { progressBar: false });
      const b = await resolveModel('pythia-160m', { progressBar: false });
      expect(a).toMatchObject({
        kind: 'hf',
        modelName: 'pythia-160m',
        hub: { revision: 'step3000', commit: step },
      });
      expect(a.kind === 'hf' && a.folder.endsWith(`snapshots/${step}`)).toBe(true);
      expect(b).toMatchObject({ hub: { revision: 'main', commit: main } });
      await expect(resolveModel('EleutherAI/pythia-160m@nope')).rejects.toThrow(
        /Revision 'nope' of EleutherAI\/pythia-160m: not found on .* \(HTTP 404\); expected a branch, tag or commit/,
      );
    });

    it('an unknown repository: ModelNotFoundError with close names; a typo of a plain name fails without a request', async () => {
      const err = await resolveModel('EleutherAI/pythia-160n').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelNotFoundError);
      expect((err as Error).message).toMatch(
        /Model 'EleutherAI\/pythia-160n': no such repository on http:\/\/127\.0\.0\.1:\d+ \(HTTP 401\).*Did you mean 'EleutherAI\/pythia-160m'.*set HF_TOKEN/,
      );
      env.hub.requests.length = 0;
      const typo = await resolveModel('gpt2-smal').catch((e: unknown) => e);
      expect(typo).toBeInstanceOf(ConfigError);
      expect((typo as Error).message).toMatch(/No model 'gpt2-smal'.*Did you mean 'gpt2-small'/);
      expect(env.hub.requests).toEqual([]);
    });

    it('a gated model: says to set HF_TOKEN, then loads with it (sent as a Bearer token)', async () => {
      env.hub.addRepo('meta-llama/Llama-2-7b-hf', gpt2Files, { gatedToken: 'hf_secret' });
      await expect(resolveModel('Llama-2-7b')).rejects.toThrow(HubAuthError);
      await expect(resolveModel('Llama-2-7b')).rejects.toThrow(
        /Model meta-llama\/Llama-2-7b-hf: the Hub refused config\.json \(HTTP 401, GatedRepo\), it is gated or private and no token was given: set HF_TOKEN/,
      );
      process.env.HF_TOKEN = 'hf_wrong';
      await expect(resolveModel('Llama-2-7b')).rejects.toThrow(
        /HTTP 403, GatedRepo.*the token in HF_TOKEN has no access/,
      );
      // the token `huggingface-cli login` saved in $HF_HOME/token is used when HF_TOKEN is unset
      delete process.env.HF_TOKEN;
      writeFileSync(join(env.home, 'token'), 'hf_secret\n');
      const where = await resolveModel('Llama-2-7b', { progressBar: false });
      expect(where).toMatchObject({ kind: 'hf', modelName: 'Llama-2-7b-hf' });
      expect(env.hub.requests.at(-1)?.authorization).toBe('Bearer hf_secret');
    });

    it('a repository with only pytorch_model.bin: names it as unsupported for now', async () => {
      env.hub.addRepo('someone/bin-only', {
        'config.json': gpt2Files['config.json'],
        'pytorch_model.bin': Buffer.from('not read'),
      });
      const err = await resolveModel('someone/bin-only').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toMatch(
        /someone\/bin-only@main: no model\.safetensors or model\.safetensors\.index\.json; it has pytorch_model\.bin, which lazylens cannot read yet/,
      );
    });

    it('a repository without config.json, and unknown Hub options', async () => {
      env.hub.addRepo('someone/data', { 'README.md': 'a dataset' });
      await expect(resolveModel('someone/data')).rejects.toThrow(
        /someone\/data@main: the repository has no config\.json; expected a transformers model repository/,
      );
      await expect(
        HookedTransformer.fromPretrained('someone/data', { hub: { revison: 'x' } as never }),
      ).rejects.toThrow(InvalidArgumentError);
    });
  },
  WASM_ONLY,
);
