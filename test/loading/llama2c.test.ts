// llama2.c checkpoints and tokenizers: both layouts, header validation, size and vocab mismatches,
// and run.c's encoding on the tiny fixture (scripts/goldens/make_llama2c_goldens.py).
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { Llama2cTokenizer } from '../../src/loading/Llama2cTokenizer.js';
import {
  expectedLlama2cBytes,
  loadLlama2c,
  parseLlama2cHeader,
  readLlama2cCheckpoint,
} from '../../src/loading/llama2c.js';
import { tempDirs } from './synthetic.js';

const TINY = fileURLToPath(new URL('../fixtures/llama2c-tiny', import.meta.url));
const META = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/llama2c-tiny-golden/meta.json', import.meta.url)), 'utf8'),
) as { tokenizer_cases: { text: string; ids: number[] }[]; prompt: string; prompt_ids: number[] };
const tinyBin = (name = 'model.bin'): Uint8Array => readFileSync(join(TINY, name));

/** A version 0 header with the given fields (no weights). */
function header(fields: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(fields).buffer);
}

describe('llama2.c checkpoints', () => {
  const tmp = tempDirs();

  it('reads the header of a version 0 file with its own classifier', () => {
    const h = parseLlama2cHeader(tinyBin(), 'model.bin');
    expect(h).toMatchObject({ version: 0, dim: 32, hiddenDim: 48, nLayers: 2, nHeads: 4, nKvHeads: 2 });
    expect(h).toMatchObject({ vocabSize: 300, seqLen: 32, sharedClassifier: false, headerBytes: 28 });
    expect(expectedLlama2cBytes(h)).toBe(tinyBin().length);
  });

  it('maps to a Llama config with adjacent-pair rotary and grouped-query attention', () => {
    const { cfg, stateDict } = readLlama2cCheckpoint(tinyBin(), { modelName: 'tiny' });
    expect(cfg).toMatchObject({
      normalizationType: 'RMS',
      finalRms: true,
      gatedMlp: true,
      actFn: 'silu',
      positionalEmbeddingType: 'rotary',
      rotaryDim: 8,
      rotaryAdjacentPairs: true,
      nKeyValueHeads: 2,
      eps: 1e-5,
      dVocab: 300,
      nCtx: 32,
      defaultPrependBos: true,
      originalArchitecture: 'llama2.c',
      modelName: 'tiny',
    });
    expect(stateDict.get('blocks.0.attn._W_K')?.shape).toEqual([2, 32, 8]);
    expect(stateDict.get('blocks.1.mlp.W_gate')?.shape).toEqual([32, 48]);
    // a separate classifier: W_U is not W_Eᵀ
    const wU = stateDict.get('unembed.W_U')!;
    const wE = stateDict.get('embed.W_E')!;
    expect(wU.data[0]).not.toBe(wE.data[0]);
  });

  it('reads the version 1 layout of the same weights identically', () => {
    const v0 = readLlama2cCheckpoint(tinyBin());
    const v1 = readLlama2cCheckpoint(tinyBin('model-v1.bin'));
    expect(v1.header).toMatchObject({ version: 1, headerBytes: 256, sharedClassifier: false });
    expect([...v1.stateDict.keys()]).toEqual([...v0.stateDict.keys()]);
    for (const [name, a] of v0.stateDict)
      expect(Array.from(v1.stateDict.get(name)!.data), name).toEqual(Array.from(a.data));
  });

  it('refuses a file whose size does not match its header, naming both sizes', () => {
    const bytes = tinyBin();
    const want = bytes.length;
    expect(() => readLlama2cCheckpoint(bytes.subarray(0, want - 4), { source: 'cut.bin' })).toThrow(
      new RegExp(`cut\\.bin: file is ${want - 4} bytes, but its header .* implies ${want} bytes`),
    );
    const padded = new Uint8Array(want + 8);
    padded.set(bytes);
    expect(() => readLlama2cCheckpoint(padded)).toThrow(
      new RegExp(`file is ${want + 8} bytes.*implies ${want} bytes`),
    );
  });

  it('refuses headers that cannot describe a model', () => {
    expect(() => parseLlama2cHeader(new Uint8Array(10), 'x.bin')).toThrow(
      /x\.bin: file has 10 bytes; expected at least 28/,
    );
    expect(() => parseLlama2cHeader(header([0, 8, 1, 2, 2, 10, 4]), 'x.bin')).toThrow(
      /field dim is 0; expected a positive size/,
    );
    expect(() => parseLlama2cHeader(header([12, 8, 1, 5, 5, 10, 4]), 'x.bin')).toThrow(/head size 2\.4/);
    expect(() => parseLlama2cHeader(header([16, 8, 1, 4, 3, 10, 4]), 'x.bin')).toThrow(
      /n_heads 4 is not a multiple of n_kv_heads 3/,
    );
    const v2 = new Uint8Array(256);
    new DataView(v2.buffer).setUint32(0, 0x616b3432, true);
    new DataView(v2.buffer).setInt32(4, 2, true);
    expect(() => parseLlama2cHeader(v2, 'q.bin')).toThrow(/version 2; expected version 0 or 1/);
    expect(() => parseLlama2cHeader(header([16, 8, 1, 4, 4, 10, 4]), 'x.bin')).not.toThrow();
  });

  it('refuses non-finite weights, naming the array, unless allowNonFinite; the unused RoPE tables are not read', async () => {
    const bytes = tinyBin().slice();
    const floats = new DataView(bytes.buffer, 28); // version 0: the weights start after 28 bytes
    floats.setFloat32(4 * 3, NaN, true); // embed [300, 32], flat index 3
    expect(() => readLlama2cCheckpoint(bytes, { source: 'bad.bin' })).toThrow(CheckpointError);
    expect(() => readLlama2cCheckpoint(bytes, { source: 'bad.bin' })).toThrow(
      "bad.bin: tensor 'embed' has 1 non-finite value of 9600 (first: NaN at flat index 3); expected finite weights. " +
        'Pass allowNonFinite: true to load it anyway.',
    );
    const { stateDict } = readLlama2cCheckpoint(bytes, { allowNonFinite: true });
    expect(Number.isNaN(stateDict.get('embed.W_E')!.data[3])).toBe(true);
    const dir = await tmp();
    await writeFile(join(dir, 'model.bin'), bytes);
    await expect(loadLlama2c(join(dir, 'model.bin'))).rejects.toThrow(
      /tensor 'embed' has 1 non-finite value/,
    );
    expect((await loadLlama2c(join(dir, 'model.bin'), undefined, { allowNonFinite: true })).cfg.dVocab).toBe(
      300,
    );
    // Version 0's RoPE tables follow rms_final; the model computes its own angles and never reads them.
    const rope = tinyBin().slice();
    const ropeAt = 9600 + 64 + 2048 + 1024 + 1024 + 2048 + 64 + 3 * 3072 + 32;
    new DataView(rope.buffer, 28).setFloat32(4 * ropeAt, Infinity, true);
    expect(() => readLlama2cCheckpoint(rope)).not.toThrow();
  });

  it('finds tokenizer.bin beside the checkpoint, and checks its vocabulary against the model', async () => {
    const loaded = await loadLlama2c(join(TINY, 'model.bin'));
    expect(loaded.tokenizer?.vocabSize).toBe(300);
    // a tokenizer for another vocabulary is refused with both sizes named
    const dir = await tmp();
    await writeFile(join(dir, 'model.bin'), tinyBin());
    const tok = readFileSync(join(TINY, 'tokenizer.bin'));
    await writeFile(join(dir, 'tokenizer.bin'), tok.subarray(0, tok.length - 9)); // drop the last record (',')
    await expect(loadLlama2c(join(dir, 'model.bin'))).rejects.toThrow(
      /tokenizer has 299 tokens but the model's vocabulary has 300/,
    );
    // no tokenizer at all: the model takes ids only
    const bare = await tmp();
    await writeFile(join(bare, 'm.bin'), tinyBin());
    expect((await loadLlama2c(join(bare, 'm.bin'))).tokenizer).toBeUndefined();
  });
});

describe('Llama2cTokenizer', () => {
  const tok = Llama2cTokenizer.fromBytes(readFileSync(join(TINY, 'tokenizer.bin')), 300);

  it("encodes as llama2.c's run.c does (dummy prefix, byte fallback, best-score merges)", () => {
    for (const { text, ids } of META.tokenizer_cases) expect(tok.encode(text), text).toEqual(ids);
    expect([tok.bosTokenId!, ...tok.encode(META.prompt)]).toEqual(META.prompt_ids);
    expect(tok.encode('')).toEqual([]);
  });

  it('decodes SentencePiece-style: the leading space after BOS or at the start is dropped', () => {
    const ids = tok.encode('the cat sat');
    expect(tok.decode(ids)).toBe('the cat sat');
    expect(tok.decode([1, ...ids])).toBe('\n<s>\nthe cat sat');
    expect(tok.decodeEach(ids)).toEqual([' the', ' cat', ' sat']);
    // byte-fallback tokens decode to their bytes, joined before UTF-8 decoding
    expect(tok.decode(tok.encode('é'))).toBe('é');
  });

  it('refuses a truncated record and a vocabulary of the wrong size', () => {
    const bytes = readFileSync(join(TINY, 'tokenizer.bin'));
    expect(() => Llama2cTokenizer.fromBytes(bytes.subarray(0, bytes.length - 1), 300, 't.bin')).toThrow(
      /t\.bin: record 299 claims 1 bytes/,
    );
    expect(() => Llama2cTokenizer.fromBytes(bytes, 512, 't.bin')).toThrow(CheckpointError);
    expect(() => Llama2cTokenizer.fromBytes(bytes, 512, 't.bin')).toThrow(
      /tokenizer has 300 tokens but the model's vocabulary has 512/,
    );
  });
});
