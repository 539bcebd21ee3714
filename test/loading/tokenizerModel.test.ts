// tokenizer.json files whose model entry lacks what its type needs: the error names the file and the key.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { LensTokenizer } from '../../src/loading/tokenizer.js';
import { byteTokenizerJson, tempDirs } from './synthetic.js';

/** The synthetic byte-level BPE tokenizer.json with its model entry changed. */
function withModel(edit: (model: Record<string, unknown>) => void): Record<string, unknown> {
  const json = byteTokenizerJson();
  const model = { ...(json.model as Record<string, unknown>) };
  edit(model);
  return { ...json, model };
}

describe('LensTokenizer: model entry checks', () => {
  const tempDir = tempDirs();

  it('names the file and the missing merges of a BPE model (was: "reading \'0\'" from inside tokenizers.js)', async () => {
    const dir = await tempDir();
    const path = join(dir, 'tokenizer.json');
    await writeFile(path, JSON.stringify(withModel((m) => delete m.merges)));
    await expect(LensTokenizer.fromFolder(dir)).rejects.toThrow(CheckpointError);
    await expect(LensTokenizer.fromFolder(dir)).rejects.toThrow(
      `${path}: the BPE model has no 'merges'; expected a list of merges, each "a b" or ["a", "b"] ` +
        '(an empty list for no merges). The model entry has keys: type, dropout, unk_token, ' +
        'continuing_subword_prefix, end_of_word_suffix, fuse_unk, byte_fallback, vocab.',
    );
  });

  it('names a malformed merges list, a missing vocab, and vocabularies of the wrong kind', () => {
    const build = (json: unknown) => () => LensTokenizer.fromJson(json, {}, 'm/tokenizer.json');
    expect(build(withModel((m) => (m.merges = [['a', 'b', 'c']])))).toThrow(
      "m/tokenizer.json: the BPE model has a malformed 'merges'",
    );
    expect(build(withModel((m) => delete m.vocab))).toThrow(
      "m/tokenizer.json: the BPE model has no 'vocab'; expected an object mapping each token to its integer id.",
    );
    expect(build({ model: { type: 'WordPiece', vocab: ['a'] } })).toThrow(
      "the WordPiece model has a malformed 'vocab'",
    );
    expect(build({ model: { type: 'Unigram', vocab: { a: 0 } } })).toThrow(
      "the Unigram model has a malformed 'vocab'; expected a list of [token, score] pairs.",
    );
  });

  it('accepts both spellings of merges and an empty list', () => {
    const pairs = withModel(
      (m) =>
        (m.merges = [
          ['Ġ', 't'],
          ['h', 'e'],
          ['Ġt', 'he'],
        ]),
    );
    expect(LensTokenizer.fromJson(pairs).encode(' the')).toEqual([258]);
    expect(LensTokenizer.fromJson(byteTokenizerJson()).encode(' the')).toEqual([258]);
    const none = withModel((m) => (m.merges = []));
    expect(LensTokenizer.fromJson(none).encode(' the')).toHaveLength(4);
  });
});
