/**
 * llama2.c's tokenizer (`tokenizer.bin`): a SentencePiece BPE vocabulary exported as pieces with
 * merge scores, encoded the way llama2.c's `run.c` does, so ids match the C program's.
 *
 * File format: int32 max_token_length, then one record per token id: float32 score, int32 byte
 * length, the piece's raw bytes. The vocabulary size is not stored; it must equal the model's.
 *
 * Encoding (run.c's `encode`): a non-empty text gets a dummy prefix " " (SentencePiece's
 * add_dummy_prefix); each UTF-8 character becomes its piece, or its bytes as byte-fallback tokens
 * `<0xHH>` (id = byte + 3); then, repeatedly, the adjacent pair whose concatenation is a piece with
 * the highest score is merged (the leftmost on ties), until no pair is a piece.
 */
import { readFile } from 'node:fs/promises';
import { CheckpointError, TokenError } from '../errors.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';

// llama2.c's fixed special ids (0 is <unk>).
const BOS = 1;
const EOS = 2;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Bytes as a binary string (one char per byte): concatenating two keys is the key of the concatenation. */
function key(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** A llama2.c tokenizer with TransformerLens's surface (BOS 1, EOS 2; pads with EOS). */
export class Llama2cTokenizer implements ModelTokenizer {
  /** BOS: id 1, as llama2.c (null for a vocabulary too small to hold it). */
  readonly bosTokenId: number | null;
  /** EOS: id 2, as llama2.c (null for a vocabulary too small to hold it). */
  readonly eosTokenId: number | null;
  /** No pad token: TransformerLens pads with EOS. */
  readonly padTokenId: number | null;
  /** Number of ids. */
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();
  // What each id decodes to: its piece's bytes, or the single byte of a byte-fallback piece.
  private readonly decoded: Uint8Array[];

  /**
   * Use {@link Llama2cTokenizer.fromBytes} or a loader.
   * @param pieces the vocabulary, one piece per id.
   * @param scores each piece's merge score.
   * @param source where the tokenizer was read from (a path), for error messages.
   */
  private constructor(
    private readonly pieces: readonly string[],
    private readonly scores: Float32Array,
    readonly source: string,
  ) {
    this.vocabSize = pieces.length;
    // The first id wins when a piece repeats (run.c's binary search would pick arbitrarily).
    pieces.forEach((p, id) => {
      if (!this.ids.has(p)) this.ids.set(p, id);
    });
    this.decoded = pieces.map((p) => {
      const byte = BYTE_PIECE.exec(p);
      return byte ? Uint8Array.of(parseInt(byte[1], 16)) : Uint8Array.from(p, (c) => c.charCodeAt(0));
    });
    this.bosTokenId = this.vocabSize > BOS ? BOS : null;
    this.eosTokenId = this.vocabSize > EOS ? EOS : null;
    this.padTokenId = this.eosTokenId;
  }

  /**
   * Parses tokenizer.bin bytes.
   * @param expectedVocab the model's vocabulary size; the file must hold exactly that many tokens
   * @throws CheckpointError for a truncated record or a vocabulary size that differs from the model's.
   */
  static fromBytes(bytes: Uint8Array, expectedVocab: number, source = 'tokenizer.bin'): Llama2cTokenizer {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) {
      throw new CheckpointError(`${source}: file has ${bytes.length} bytes; expected a llama2.c tokenizer.`);
    }
    const pieces: string[] = [];
    const scores: number[] = [];
    let offset = 4; // past max_token_length, which only sizes run.c's buffers
    while (offset < bytes.length) {
      if (offset + 8 > bytes.length) {
        throw new CheckpointError(
          `${source}: record ${pieces.length} is cut off at byte ${offset} of ${bytes.length}; truncated file?`,
        );
      }
      const score = view.getFloat32(offset, true);
      const len = view.getInt32(offset + 4, true);
      if (len < 0 || offset + 8 + len > bytes.length) {
        throw new CheckpointError(
          `${source}: record ${pieces.length} claims ${len} bytes at byte ${offset + 8}, but the file has ` +
            `${bytes.length - offset - 8} left; expected a llama2.c tokenizer.`,
        );
      }
      pieces.push(key(bytes.subarray(offset + 8, offset + 8 + len)));
      scores.push(score);
      offset += 8 + len;
    }
    if (pieces.length !== expectedVocab) {
      throw new CheckpointError(
        `${source}: tokenizer has ${pieces.length} tokens but the model's vocabulary has ${expectedVocab}; ` +
          'expected the tokenizer the model was trained with (e.g. tok512.bin for a 512-token model).',
      );
    }
    return new Llama2cTokenizer(pieces, Float32Array.from(scores), source);
  }

  /** Reads a tokenizer.bin file; see {@link fromBytes}. */
  static async fromFile(path: string, expectedVocab: number): Promise<Llama2cTokenizer> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new CheckpointError(`Cannot read llama2.c tokenizer ${path}: ${(e as Error).message}`);
    }
    return Llama2cTokenizer.fromBytes(bytes, expectedVocab, path);
  }

  /** Token ids of `text` as run.c encodes it, without BOS/EOS (the dummy-prefix space included). */
  encode(text: string): number[] {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length === 0) return [];
    const tokens: number[] = [];
    const space = this.ids.get(' ');
    if (space !== undefined) tokens.push(space);
    // One UTF-8 character at a time: a lead byte and up to three continuation bytes (10xxxxxx).
    let i = 0;
    while (i < bytes.length) {
      let j = i + 1;
      while (j < bytes.length && j - i < 4 && (bytes[j] & 0xc0) === 0x80) j++;
      const char = bytes.subarray(i, j);
      const id = this.ids.get(key(char));
      if (id !== undefined) tokens.push(id);
      else for (const b of char) tokens.push(b + 3); // byte fallback: <0x00> is id 3
      i = j;
    }
    this.merge(tokens);
    return tokens;
  }

  /** run.c's merge loop, in place: best-scoring adjacent pair first, leftmost on ties. */
  private merge(tokens: number[]): void {
    for (;;) {
      let best = -1e10;
      let bestId = -1;
      let bestAt = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = this.ids.get(this.pieces[tokens[i]] + this.pieces[tokens[i + 1]]);
        if (id !== undefined && this.scores[id] > best) {
          best = this.scores[id];
          bestId = id;
          bestAt = i;
        }
      }
      if (bestAt < 0) return;
      tokens.splice(bestAt, 2, bestId);
    }
  }

  /**
   * The text of `ids`. As SentencePiece (and run.c after BOS), the leading space of the piece
   * that opens the text or follows BOS is dropped; byte-fallback tokens become their bytes.
   */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    ids.forEach((id, i) => {
      let bytes = this.piece(id);
      if ((i === 0 || ids[i - 1] === BOS) && bytes[0] === 0x20) bytes = bytes.subarray(1);
      parts.push(bytes);
    });
    return utf8(parts);
  }

  /** Each token on its own, its piece's leading space kept (TL's to_str_tokens drops it for Llama). */
  decodeEach(ids: readonly number[]): string[] {
    return ids.map((id) => utf8([this.piece(id)]));
  }

  /** The stored piece of an id (e.g. " upon", "<0x0A>", "\n<s>\n"). */
  idToPiece(id: number): string | undefined {
    const p = this.pieces[id];
    return p === undefined ? undefined : utf8([Uint8Array.from(p, (c) => c.charCodeAt(0))]);
  }

  private piece(id: number): Uint8Array {
    const bytes = this.decoded[id] as Uint8Array | undefined;
    if (!bytes) {
      throw new TokenError(`Token id ${id} given; expected an integer in [0, ${this.vocabSize}).`);
    }
    return bytes;
  }
}

function utf8(parts: readonly Uint8Array[]): string {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder('utf-8').decode(all);
}
