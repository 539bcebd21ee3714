import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { loadHfFolder } from '../../src/loading/loadFolder.js';
import { loadSafetensorsFile, writeSafetensors } from '../../src/loading/safetensors.js';
import { toStrTokens, toTokens } from '../../src/core/tokens.js';
import {
  EOT,
  expectedGpt2Shapes,
  FIXTURE,
  GOLDEN,
  gpt2ConfigJson,
  gpt2Tensors,
  TINY,
  tempDirs,
  writeGpt2Folder,
} from './synthetic.js';

describe('loadHfFolder (synthetic GPT-2)', () => {
  const tempDir = tempDirs();

  it('loads config, TL-named weights and tokenizer', async () => {
    const dir = await writeGpt2Folder(await tempDir());
    const { cfg, stateDict, tokenizer } = await loadHfFolder(dir);
    expect(cfg).toMatchObject({ nLayers: 2, dModel: 8, nHeads: 2, dHead: 4, dMlp: 12, nCtx: 6, dVocab: 260 });
    expect(cfg.tokenizerPrependsBos).toBe(false);
    expect([...stateDict].map(([k, v]) => [k, v.shape])).toEqual(expectedGpt2Shapes(TINY));
    expect(tokenizer?.bosTokenId).toBe(EOT);
    expect(toTokens(tokenizer!, cfg, ' the').ids).toEqual([[EOT, 258]]);
  });

  it('works without a tokenizer', async () => {
    const dir = await writeGpt2Folder(await tempDir(), { tokenizer: false });
    const loaded = await loadHfFolder(dir);
    expect(loaded.tokenizer).toBeUndefined();
    expect(loaded.cfg.tokenizerPrependsBos).toBeNull();
    expect(loaded.stateDict.size).toBe(expectedGpt2Shapes(TINY).length);
  });

  it('reads a sharded checkpoint through model.safetensors.index.json', async () => {
    const dir = await writeGpt2Folder(await tempDir());
    await rm(join(dir, 'model.safetensors'));
    const all = Object.entries(gpt2Tensors('transformer.'));
    const half = Math.floor(all.length / 2);
    const shards = [all.slice(0, half), all.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      await writeFile(join(dir, file), writeSafetensors(Object.fromEntries(shard)));
      for (const [name] of shard) weightMap[name] = file;
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    const { stateDict } = await loadHfFolder(dir);
    expect(stateDict.size).toBe(expectedGpt2Shapes(TINY).length);
  });

  it('names the folder when config.json is missing', async () => {
    const dir = await writeGpt2Folder(await tempDir(), { config: null });
    await expect(loadHfFolder(dir)).rejects.toThrow(ConfigError);
    await expect(loadHfFolder(dir)).rejects.toThrow(`Folder ${dir} has no config.json`);
  });

  it('rejects an unsupported architecture, listing the supported ones', async () => {
    const dir = await writeGpt2Folder(await tempDir(), {
      config: { architectures: ['T5ForConditionalGeneration'] },
    });
    await expect(loadHfFolder(dir)).rejects.toThrow(
      /architecture 'T5ForConditionalGeneration' is not supported; expected one of GPT2LMHeadModel/,
    );
  });

  it('names a missing weight file, mentioning a format it does not read', async () => {
    const dir = await writeGpt2Folder(await tempDir());
    await rm(join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'tf_model.h5'), 'x');
    await expect(loadHfFolder(dir)).rejects.toThrow(CheckpointError);
    await expect(loadHfFolder(dir)).rejects.toThrow(
      `Folder ${dir} has no model.safetensors, pytorch_model.bin or their .index.json (found tf_model.h5; ` +
        'lazylens reads safetensors and PyTorch .bin).',
    );
  });

  it('reads pytorch_model.bin when there is no safetensors, and says when it is not a torch.save zip', async () => {
    const dir = await writeGpt2Folder(await tempDir());
    await rm(join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'pytorch_model.bin'), 'x');
    await expect(loadHfFolder(dir)).rejects.toThrow(
      `${join(dir, 'pytorch_model.bin')}: does not start with a zip signature; expected a torch.save checkpoint`,
    );
  });

  it('reports a missing tensor, a wrong shape and a truncated file with the file name', async () => {
    const missing = gpt2Tensors();
    delete missing['h.0.attn.c_proj.weight'];
    const dir1 = await writeGpt2Folder(await tempDir(), { tensors: missing });
    await expect(loadHfFolder(dir1)).rejects.toThrow(
      `${join(dir1, 'model.safetensors')}: missing tensor 'transformer.h.0.attn.c_proj.weight' or 'h.0.attn.c_proj.weight'`,
    );

    // The config says 3 heads of 4 = 12 wide; the weights are 8 wide.
    const dir2 = await writeGpt2Folder(await tempDir(), {
      config: gpt2ConfigJson({ n_embd: 12, n_head: 3 }),
    });
    await expect(loadHfFolder(dir2)).rejects.toThrow(
      /'wte.weight' has shape \[260, 8\]; expected \[260, 12\]/,
    );

    const dir3 = await writeGpt2Folder(await tempDir());
    const bytes = writeSafetensors(gpt2Tensors());
    await writeFile(join(dir3, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
    await expect(loadHfFolder(dir3)).rejects.toThrow(
      /model\.safetensors: tensor '.*': data_offsets .* truncated/,
    );
  });
});

// The golden checkpoint written by scripts/goldens/make_gpt2_golden.py.
const haveFixture = existsSync(join(FIXTURE, 'config.json'));
const haveGolden = existsSync(join(GOLDEN, 'meta.json'));

interface GoldenMeta {
  cfg: {
    n_layers: number;
    d_model: number;
    n_heads: number;
    d_head: number;
    d_mlp: number;
    d_vocab: number;
    n_ctx: number;
  };
  tokenizer: {
    bos_token_id: number;
    eos_token_id: number;
    vocab_size: number;
    expected_tokens: { text: string; ids: number[]; tokens: string[]; decoded: string }[];
  };
  prompts: { tokens: number[][]; str_tokens: string[][] };
}

describe.skipIf(!haveFixture)('loadHfFolder (test/fixtures/gpt2-tiny golden checkpoint)', () => {
  it('gives every TL tensor its TL shape', async () => {
    const { cfg, stateDict } = await loadHfFolder(FIXTURE);
    expect(cfg).toMatchObject({ originalArchitecture: 'GPT2LMHeadModel', modelName: 'gpt2-tiny' });
    const { nLayers, dModel: d, nHeads: h, dHead: dh, dMlp, nCtx, dVocab: vocab } = cfg;
    const expected = expectedGpt2Shapes({ nLayers, d, h, dh, m: dMlp!, nCtx, vocab });
    expect([...stateDict].map(([k, v]) => [k, v.shape])).toEqual(expected);
  });

  it('round-trips text through the tokenizer', async () => {
    const { tokenizer } = await loadHfFolder(FIXTURE);
    for (const text of [
      'The cat sat on the mat.',
      '  spaces  and\nnewlines\t!',
      'héllo ü 日本 🙂',
      'x<|endoftext|>y',
    ]) {
      expect(tokenizer!.decode(tokenizer!.encode(text))).toBe(text);
    }
  });

  describe.skipIf(!haveGolden)('against test/fixtures/gpt2-tiny-golden', () => {
    const meta = haveGolden
      ? (JSON.parse(readFileSync(join(GOLDEN, 'meta.json'), 'utf8')) as GoldenMeta)
      : undefined;

    it("matches the reference config and TransformerLens's unprocessed state dict exactly", async () => {
      const { cfg, stateDict } = await loadHfFolder(FIXTURE);
      const c = meta!.cfg;
      expect(cfg).toMatchObject({
        nLayers: c.n_layers,
        dModel: c.d_model,
        nHeads: c.n_heads,
        dHead: c.d_head,
        dMlp: c.d_mlp,
        dVocab: c.d_vocab,
        nCtx: c.n_ctx,
      });
      const raw = (await loadSafetensorsFile(join(GOLDEN, 'raw.safetensors'))).tensors;
      const names = [...raw.keys()]
        .filter((k) => k.startsWith('state.'))
        .map((k) => k.slice('state.'.length));
      expect(names.sort()).toEqual([...stateDict.keys()].sort());
      for (const name of names) {
        const want = raw.get(`state.${name}`)!;
        const got = stateDict.get(name)!;
        expect(got.shape, name).toEqual(want.shape);
        expect(got.data, name).toEqual(want.data);
      }
    });

    it('gives the expected ids, vocabulary tokens and decodings', async () => {
      const { tokenizer } = await loadHfFolder(FIXTURE);
      const t = meta!.tokenizer;
      expect([tokenizer!.bosTokenId, tokenizer!.eosTokenId, tokenizer!.vocabSize]).toEqual([
        t.bos_token_id,
        t.eos_token_id,
        t.vocab_size,
      ]);
      for (const e of t.expected_tokens) {
        const ids = tokenizer!.encode(e.text);
        expect(ids, e.text).toEqual(e.ids);
        expect(
          ids.map((id) => tokenizer!.idToToken(id)),
          e.text,
        ).toEqual(e.tokens);
        expect(tokenizer!.decode(ids), e.text).toBe(e.decoded);
      }
    });

    it("reproduces the golden prompt's tokens and str tokens", async () => {
      const { cfg, tokenizer } = await loadHfFolder(FIXTURE);
      const p = meta!.prompts;
      expect(toTokens(tokenizer!, cfg, 'The cat sat on the mat.').ids).toEqual([p.tokens[0]]);
      // meta's str_tokens are vocabulary entries ('Ġcat'); TL's to_str_tokens decodes each id
      // (' cat'). The prompts are ASCII, so the two differ only by Ġ -> space.
      for (const [row, ids] of p.tokens.entries()) {
        expect(ids.map((id) => tokenizer!.idToToken(id))).toEqual(p.str_tokens[row]);
        const decoded = p.str_tokens[row].map((s) => s.replaceAll('Ġ', ' '));
        expect(toStrTokens(tokenizer!, cfg, ids)).toEqual(decoded);
      }
      expect(toStrTokens(tokenizer!, cfg, 'The cat sat on the mat.')).toEqual(
        p.str_tokens[0].map((s) => s.replaceAll('Ġ', ' ')),
      );
    });
  });
});
