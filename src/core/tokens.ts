/**
 * TransformerLens's token helpers (`to_tokens`, `to_str_tokens`, `to_string`, `to_single_token`)
 * as pure functions of a tokenizer and a config; `HookedTransformer` delegates to them.
 */
import { TokenError } from '../errors.js';
import type { HookedTransformerConfig } from './config.js';
import type { ModelTokenizer } from './ModelTokenizer.js';

/** The config fields the token helpers read. */
export type TokenConfig = Pick<HookedTransformerConfig, 'nCtx' | 'dVocab' | 'defaultPrependBos'>;

/** Which side of a shorter prompt padding goes on. */
export type PaddingSide = 'left' | 'right';

/** Options of {@link HookedTransformer.toTokens}. */
export interface ToTokensOptions {
  /** Put the BOS id first; default `cfg.defaultPrependBos`. */
  prependBos?: boolean;
  /** Where padding goes when prompts differ in length; default 'right'. */
  paddingSide?: PaddingSide;
  /** Cut sequences to `cfg.nCtx` (keeping the start); when false, a longer one is an error. Default true. */
  truncate?: boolean;
}

/** A padded batch: `ids` [batch, pos] and its `attentionMask` (1 = real token, 0 = padding). */
export interface TokenBatch {
  ids: number[][];
  attentionMask: number[][];
}

const longestPiece = new WeakMap<ModelTokenizer, number>();

/**
 * A text length (in UTF-16 units) beyond which a text cannot fit in nCtx tokens: nCtx times the
 * longest token's text, plus one unit per token of slack (a split character decodes to a
 * replacement character per piece). Undefined when the pieces cannot be read.
 */
function charBound(tokenizer: ModelTokenizer, cfg: TokenConfig): number | undefined {
  let longest = longestPiece.get(tokenizer);
  if (longest === undefined) {
    try {
      const pieces = tokenizer.decodeEach(Array.from({ length: cfg.dVocab }, (_, i) => i));
      longest = pieces.reduce((m, p) => Math.max(m, p.length), 1);
    } catch {
      return undefined;
    }
    longestPiece.set(tokenizer, longest);
  }
  return cfg.nCtx * (longest + 1);
}

/**
 * Tokenizes one prompt or a batch into a rectangular [batch, pos] array, as `to_tokens`.
 * The mask is exact (from each prompt's length), so a real EOS equal to the pad id stays unmasked.
 * @throws TokenError for an empty batch, a prompt with no tokens, an id ≥ `cfg.dVocab`, a prompt
 *   longer than `cfg.nCtx` with `truncate: false`, or a BOS/pad that the tokenizer lacks.
 */
export function toTokens(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  input: string | readonly string[],
  options: ToTokensOptions = {},
): TokenBatch {
  const prependBos = options.prependBos ?? cfg.defaultPrependBos;
  const paddingSide = options.paddingSide ?? 'right';
  const truncate = options.truncate ?? true;
  const prompts = typeof input === 'string' ? [input] : input;
  if (prompts.length === 0) throw new TokenError('Given an empty list of prompts; expected at least one.');
  if (prependBos && tokenizer.bosTokenId === null) {
    throw new TokenError(
      'prependBos is true but the tokenizer has no BOS (or EOS) token; pass prependBos: false.',
    );
  }

  const bound = charBound(tokenizer, cfg);
  const rows = prompts.map((full) => {
    let text = full;
    if (bound !== undefined && full.length > bound) {
      // No token is longer than the longest piece, so this text has more than nCtx tokens: say so
      // (or keep a prefix that still has more) without tokenizing all of it.
      if (!truncate) {
        throw new TokenError(
          `Prompt ${JSON.stringify(shorten(full))} has ${full.length} characters, more than nCtx = ${cfg.nCtx} tokens can hold; ` +
            `expected at most nCtx = ${cfg.nCtx} tokens (or truncate: true).`,
        );
      }
      text = full.slice(0, bound);
    }
    const ids = [...(prependBos ? [tokenizer.bosTokenId!] : []), ...tokenizer.encode(text)];
    if (ids.length === 0) {
      throw new TokenError(
        `Prompt ${JSON.stringify(text)} has no tokens; expected at least one (or prependBos).`,
      );
    }
    checkIds([ids], cfg.dVocab, `prompt ${JSON.stringify(text)}`);
    if (ids.length > cfg.nCtx) {
      if (truncate) return ids.slice(0, cfg.nCtx);
      throw new TokenError(
        `Prompt ${JSON.stringify(shorten(text))} has ${ids.length} tokens; expected at most nCtx = ${cfg.nCtx} ` +
          '(or truncate: true).',
      );
    }
    return ids;
  });

  const width = Math.max(...rows.map((r) => r.length));
  if (rows.some((r) => r.length < width) && tokenizer.padTokenId === null) {
    throw new TokenError('Prompts differ in length but the tokenizer has no pad (or EOS) token to pad with.');
  }
  const pad = tokenizer.padTokenId ?? 0;
  const ids: number[][] = [];
  const attentionMask: number[][] = [];
  for (const row of rows) {
    const pads = new Array<number>(width - row.length).fill(pad);
    const zeros = new Array<number>(width - row.length).fill(0);
    const ones = new Array<number>(row.length).fill(1);
    ids.push(paddingSide === 'right' ? [...row, ...pads] : [...pads, ...row]);
    attentionMask.push(paddingSide === 'right' ? [...ones, ...zeros] : [...zeros, ...ones]);
  }
  return { ids, attentionMask };
}

/**
 * Each token as its own string, as `to_str_tokens`. A string is tokenized first (BOS as
 * `prependBos`, truncated to nCtx); a list of strings maps element-wise; ids `[p]` or `[1, p]`
 * are decoded directly.
 * @throws TokenError for ids `[b, p]` with b > 1, or ids that are not in `[0, dVocab)`.
 */
export function toStrTokens(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  input: string,
  options?: Omit<ToTokensOptions, 'truncate'>,
): string[];
export function toStrTokens(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  input: readonly string[],
  options?: Omit<ToTokensOptions, 'truncate'>,
): string[][];
export function toStrTokens(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  input: readonly number[] | readonly (readonly number[])[],
): string[];
export function toStrTokens(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  input: string | readonly string[] | readonly number[] | readonly (readonly number[])[],
  options: Omit<ToTokensOptions, 'truncate'> = {},
): string[] | string[][] {
  if (typeof input === 'string') {
    return tokenizer.decodeEach(toTokens(tokenizer, cfg, input, options).ids[0]);
  }
  if (input.length > 0 && typeof input[0] === 'string') {
    return (input as readonly string[]).map((text) => toStrTokens(tokenizer, cfg, text, options));
  }
  const ids = input as readonly number[] | readonly (readonly number[])[];
  let row: readonly number[];
  if (ids.length > 0 && Array.isArray(ids[0])) {
    const rows = ids as readonly (readonly number[])[];
    if (rows.length !== 1) {
      throw new TokenError(
        `toStrTokens was given token ids of shape [${rows.length}, ${rows[0].length}]; expected [pos] or [1, pos].`,
      );
    }
    row = rows[0];
  } else {
    row = ids as readonly number[];
  }
  checkIds([row], cfg.dVocab, 'toStrTokens input');
  return tokenizer.decodeEach(row);
}

/**
 * Decodes ids to text, as `to_string`: a number or `[p]` gives one string, `[b, p]` one string per
 * row. Spaces are not cleaned up; special tokens are kept.
 * @throws TokenError for ids that are not integers in `[0, dVocab)`.
 */
export function toString(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  tokens: number | readonly number[],
): string;
export function toString(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  tokens: readonly (readonly number[])[],
): string[];
export function toString(
  tokenizer: ModelTokenizer,
  cfg: TokenConfig,
  tokens: number | readonly number[] | readonly (readonly number[])[],
): string | string[] {
  if (typeof tokens === 'number') tokens = [tokens];
  if (tokens.length > 0 && Array.isArray(tokens[0])) {
    const rows = tokens as readonly (readonly number[])[];
    checkIds(rows, cfg.dVocab, 'toString input');
    return rows.map((r) => tokenizer.decode(r));
  }
  const row = tokens as readonly number[];
  checkIds([row], cfg.dVocab, 'toString input');
  return tokenizer.decode(row);
}

/**
 * The id of a string that is exactly one token (no BOS), as `to_single_token`.
 * @throws TokenError naming the string and the tokens it became when it is not exactly one token.
 */
export function toSingleToken(tokenizer: ModelTokenizer, cfg: TokenConfig, text: string): number {
  const ids = tokenizer.encode(text);
  if (ids.length !== 1) {
    const pieces = tokenizer.decodeEach(ids).map((s) => JSON.stringify(s));
    throw new TokenError(
      `${JSON.stringify(text)} is not a single token: it becomes ${ids.length} tokens ` +
        `[${pieces.join(', ')}] (ids [${ids.join(', ')}]); expected exactly one.`,
    );
  }
  checkIds([ids], cfg.dVocab, JSON.stringify(text));
  return ids[0];
}

/**
 * Checks token ids given directly (not from text): a non-empty rectangular [batch, pos] of
 * integers in `[0, dVocab)`, with pos ≤ nCtx.
 * @throws TokenError naming the first bad id and its position.
 */
export function checkTokenIds(
  ids: readonly (readonly number[])[],
  cfg: Pick<TokenConfig, 'nCtx' | 'dVocab'>,
): void {
  if (ids.length === 0 || ids[0].length === 0) {
    throw new TokenError(
      `Token ids have shape [${ids.length}, ${ids[0]?.length ?? 0}]; expected at least one token.`,
    );
  }
  const width = ids[0].length;
  const ragged = ids.findIndex((r) => r.length !== width);
  if (ragged >= 0) {
    throw new TokenError(
      `Token id row ${ragged} has ${ids[ragged].length} ids; expected ${width} like row 0.`,
    );
  }
  if (width > cfg.nCtx) {
    throw new TokenError(`Token ids have ${width} positions; expected at most nCtx = ${cfg.nCtx}.`);
  }
  checkIds(ids, cfg.dVocab, 'token ids');
}

function checkIds(rows: readonly (readonly number[])[], dVocab: number, what: string): void {
  for (let b = 0; b < rows.length; b++) {
    const row = rows[b];
    for (let p = 0; p < row.length; p++) {
      const id = row[p];
      if (!Number.isInteger(id) || id < 0 || (dVocab > 0 && id >= dVocab)) {
        const at = rows.length > 1 ? `[${b}, ${p}]` : `${p}`;
        throw new TokenError(
          `${what}: token id ${id} at position ${at} is out of range; expected an integer in [0, ${dVocab}).`,
        );
      }
    }
  }
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
