import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError, TokenError } from '../../src/errors.js';
import { LensTokenizer } from '../../src/loading/tokenizer.js';
import { checkTokenIds, toSingleToken, toStrTokens, toString, toTokens } from '../../src/core/tokens.js';
import { byteTokenizerJson, EOT, tempDirs } from './synthetic.js';

// Byte-level BPE: 'the' is [t=83, he=257], ' the' is one token (258), EOS/BOS/PAD are 259.
const tok = LensTokenizer.fromJson(byteTokenizerJson(), {
  bos_token: '<|endoftext|>',
  eos_token: '<|endoftext|>',
});
const cfg = { nCtx: 6, dVocab: 260, defaultPrependBos: true };

describe('LensTokenizer', () => {
  it('finds BOS/EOS from tokenizer_config (string or AddedToken object) and pads with EOS', () => {
    expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId, tok.vocabSize]).toEqual([EOT, EOT, EOT, 260]);
    const objectForm = LensTokenizer.fromJson(byteTokenizerJson(), {
      eos_token: { __type: 'AddedToken', content: '<|endoftext|>' },
      pad_token: 'a',
    });
    expect([objectForm.bosTokenId, objectForm.eosTokenId, objectForm.padTokenId]).toEqual([EOT, EOT, 64]);
  });

  it('falls back to well-known special token names without tokenizer_config', () => {
    const t = LensTokenizer.fromJson(byteTokenizerJson());
    expect([t.bosTokenId, t.eosTokenId, t.padTokenId]).toEqual([EOT, EOT, EOT]);
    expect(t.prependsBos).toBe(false);
  });

  it('encodes without special tokens and decodes without cleaning up spaces', () => {
    expect(tok.encode('the the')).toEqual([83, 257, 258]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('x<|endoftext|>')).toEqual([87, EOT]);
    expect(tok.decode(tok.encode(' hello , world .'))).toBe(' hello , world .');
    expect(tok.decode([])).toBe('');
    expect(tok.decode([EOT, 258])).toBe('<|endoftext|> the');
  });

  it('decodes each token separately (partial UTF-8 bytes become U+FFFD, as in HF)', () => {
    expect(tok.decodeEach(tok.encode('the the'))).toEqual(['t', 'he', ' the']);
    expect(tok.decodeEach(tok.encode('é'))).toEqual(['\uFFFD', '\uFFFD']);
    expect(tok.decode(tok.encode('é'))).toBe('é');
  });

  it('maps tokens and ids both ways', () => {
    expect(tok.tokenToId('Ġthe')).toBe(258);
    expect(tok.idToToken(258)).toBe('Ġthe');
    expect(tok.tokenToId('nope')).toBeUndefined();
  });

  it('rejects JSON that is not a tokenizer', () => {
    expect(() => LensTokenizer.fromJson([], {}, 'x/tokenizer.json')).toThrow(CheckpointError);
    expect(() => LensTokenizer.fromJson({ model: 1 }, {}, 'x/tokenizer.json')).toThrow(/x\/tokenizer.json/);
    expect(() => LensTokenizer.fromJson({ model: { type: 'Nope' } }, {}, 't.json')).toThrow(
      't.json: model.type is "Nope"; expected one of BPE, WordPiece, Unigram.',
    );
  });
});

describe('LensTokenizer.fromFolder', () => {
  const tempDir = tempDirs();

  it('loads tokenizer.json with tokenizer_config.json', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson()));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ pad_token: 'b' }));
    const t = await LensTokenizer.fromFolder(dir);
    expect(t.padTokenId).toBe(65);
    expect(t.encode(' the')).toEqual([258]);
  });

  it('names the folder when tokenizer.json is missing, and the file when it is corrupt', async () => {
    const dir = await tempDir();
    await expect(LensTokenizer.fromFolder(dir)).rejects.toThrow(`Folder ${dir} has no tokenizer.json.`);
    await writeFile(join(dir, 'tokenizer.json'), '{ oops');
    await expect(LensTokenizer.fromFolder(dir)).rejects.toThrow(/tokenizer\.json is not valid JSON/);
  });
});

describe('toTokens', () => {
  it('prepends BOS by default (cfg.defaultPrependBos) and not when asked', () => {
    expect(toTokens(tok, cfg, 'the the')).toEqual({
      ids: [[EOT, 83, 257, 258]],
      attentionMask: [[1, 1, 1, 1]],
    });
    expect(toTokens(tok, cfg, 'the the', { prependBos: false }).ids).toEqual([[83, 257, 258]]);
    expect(toTokens(tok, { ...cfg, defaultPrependBos: false }, 'the').ids).toEqual([[83, 257]]);
  });

  it('pads a batch with the pad id on the right (default) or left, with an exact mask', () => {
    const right = toTokens(tok, cfg, [' the', 'ab']);
    expect(right.ids).toEqual([
      [EOT, 258, EOT],
      [EOT, 64, 65],
    ]);
    expect(right.attentionMask).toEqual([
      [1, 1, 0],
      [1, 1, 1],
    ]);
    const left = toTokens(tok, cfg, [' the', 'ab'], { paddingSide: 'left' });
    expect(left.ids).toEqual([
      [EOT, EOT, 258],
      [EOT, 64, 65],
    ]);
    expect(left.attentionMask).toEqual([
      [0, 1, 1],
      [1, 1, 1],
    ]);
  });

  it('keeps a real EOS at the end unmasked (the mask comes from lengths, not the pad id)', () => {
    const { attentionMask } = toTokens(tok, cfg, ['a<|endoftext|>', 'abc']);
    expect(attentionMask).toEqual([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
  });

  it('truncates to nCtx, keeping the start, or refuses when truncate is false', () => {
    expect(toTokens(tok, cfg, 'abcdefgh').ids).toEqual([[EOT, 64, 65, 66, 67, 68]]);
    expect(() => toTokens(tok, cfg, 'abcdefgh', { truncate: false })).toThrow(TokenError);
    expect(() => toTokens(tok, cfg, 'abcdefgh', { truncate: false })).toThrow(
      '"abcdefgh" has 9 tokens; expected at most nCtx = 6',
    );
  });

  it('rejects empty prompts and empty batches', () => {
    expect(toTokens(tok, cfg, '').ids).toEqual([[EOT]]); // BOS alone is a valid prompt, as in TL
    expect(() => toTokens(tok, cfg, '', { prependBos: false })).toThrow(TokenError);
    expect(() => toTokens(tok, cfg, '', { prependBos: false })).toThrow('Prompt "" has no tokens');
    expect(() => toTokens(tok, cfg, [])).toThrow('empty list of prompts');
  });

  it('rejects token ids the model cannot embed (id ≥ dVocab)', () => {
    expect(() => toTokens(tok, { ...cfg, dVocab: 259 }, 'ab')).toThrow(TokenError);
    expect(() => toTokens(tok, { ...cfg, dVocab: 259 }, 'ab')).toThrow(
      'prompt "ab": token id 259 at position 0 is out of range; expected an integer in [0, 259)',
    );
  });
});

describe('toStrTokens / toString / toSingleToken', () => {
  it('toStrTokens: a string is tokenized (BOS first) and each token decoded', () => {
    expect(toStrTokens(tok, cfg, 'the the')).toEqual(['<|endoftext|>', 't', 'he', ' the']);
    expect(toStrTokens(tok, cfg, 'the the', { prependBos: false })).toEqual(['t', 'he', ' the']);
    expect(toStrTokens(tok, cfg, ['a', ' the'])).toEqual([
      ['<|endoftext|>', 'a'],
      ['<|endoftext|>', ' the'],
    ]);
  });

  it('toStrTokens: ids [p] or [1, p] are decoded; [b > 1, p] and bad ids are errors', () => {
    expect(toStrTokens(tok, cfg, [83, 257])).toEqual(['t', 'he']);
    expect(toStrTokens(tok, cfg, [[83, 257]])).toEqual(['t', 'he']);
    expect(toStrTokens(tok, cfg, [])).toEqual([]);
    expect(() => toStrTokens(tok, cfg, [[1], [2]])).toThrow('shape [2, 1]; expected [pos] or [1, pos]');
    expect(() => toStrTokens(tok, cfg, [1, 260])).toThrow(TokenError);
    expect(() => toStrTokens(tok, cfg, [1, 260])).toThrow('token id 260 at position 1 is out of range');
  });

  it('toString: a number or [p] gives a string, [b, p] a string per row', () => {
    expect(toString(tok, cfg, 258)).toBe(' the');
    expect(toString(tok, cfg, [EOT, 83, 257])).toBe('<|endoftext|>the');
    expect(
      toString(tok, cfg, [
        [64, 258],
        [65, 66],
      ]),
    ).toEqual(['a the', 'bc']);
    expect(toString(tok, cfg, [])).toBe('');
    expect(() => toString(tok, cfg, [-1])).toThrow('token id -1 at position 0');
    expect(() => toString(tok, cfg, [[1], [1.5]])).toThrow('token id 1.5 at position [1, 0]');
  });

  it('toSingleToken: one token gives its id, without BOS', () => {
    expect(toSingleToken(tok, cfg, ' the')).toBe(258);
    expect(toSingleToken(tok, cfg, '<|endoftext|>')).toBe(EOT);
  });

  it('toSingleToken: a multi-token or empty string names the string and its tokens', () => {
    expect(() => toSingleToken(tok, cfg, 'the')).toThrow(TokenError);
    expect(() => toSingleToken(tok, cfg, 'the')).toThrow(
      '"the" is not a single token: it becomes 2 tokens ["t", "he"] (ids [83, 257]); expected exactly one.',
    );
    expect(() => toSingleToken(tok, cfg, '')).toThrow('"" is not a single token: it becomes 0 tokens');
  });

  it('checkTokenIds validates ids given directly', () => {
    expect(() => checkTokenIds([[1, 2, 3]], cfg)).not.toThrow();
    expect(() => checkTokenIds([], cfg)).toThrow('expected at least one token');
    expect(() => checkTokenIds([[]], cfg)).toThrow('shape [1, 0]');
    expect(() => checkTokenIds([[1, 2], [3]], cfg)).toThrow('row 1 has 1 ids; expected 2');
    expect(() => checkTokenIds([[1, 2, 3, 4, 5, 6, 7]], cfg)).toThrow(
      '7 positions; expected at most nCtx = 6',
    );
    expect(() => checkTokenIds([[1, 300]], cfg)).toThrow('token id 300 at position 1 is out of range');
  });
});
