/**
 * A Hugging Face tokenizer (`tokenizer.json`, optional `tokenizer_config.json`) behind the small
 * surface TransformerLens uses: encode without special tokens, decode without clean-up, decode
 * each token separately, and the BOS/EOS/PAD ids with TransformerLens's fallbacks.
 */
import * as tokenizers from '@huggingface/tokenizers';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, TokenError } from '../errors.js';

/**
 * The part of tokenizers.js's `Tokenizer` used here. Its published .d.ts files use extensionless
 * relative imports, which NodeNext cannot resolve, so the class is typed by hand.
 */
interface HfTokenizer {
  model: { vocab: string[] } | null;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[]; tokens: string[] };
  decode(
    ids: number[],
    options: { skip_special_tokens: boolean; clean_up_tokenization_spaces: boolean },
  ): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
}
const Tokenizer = (tokenizers as unknown as { Tokenizer: new (json: object, config: object) => HfTokenizer })
  .Tokenizer;

// Names tried, in order, when tokenizer_config.json does not say which tokens are special.
const EOS_CANDIDATES = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>'];
const BOS_CANDIDATES = ['<s>', '<|begin_of_text|>', '<bos>'];
const PAD_CANDIDATES = ['<pad>', '[PAD]'];

// tokenizers.js requires these keys to be present (null is fine).
const REQUIRED_KEYS = ['normalizer', 'pre_tokenizer', 'model', 'post_processor', 'decoder'];

/** A tokenizer with TransformerLens's conventions; every id it returns is a plain number. */
export class LensTokenizer {
  /** The BOS id; TransformerLens uses EOS when the tokenizer has no BOS. Null when neither exists. */
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** The padding id; TransformerLens pads with EOS when the tokenizer has no pad token. */
  readonly padTokenId: number | null;
  /** Number of ids, added tokens included (Hugging Face's `len(tokenizer)`). */
  readonly vocabSize: number;
  /** Whether the tokenizer's own post-processor adds a BOS (TransformerLens's `tokenizer_prepends_bos`). */
  readonly prependsBos: boolean;

  private constructor(
    private readonly inner: HfTokenizer,
    config: Record<string, unknown>,
    readonly source: string,
  ) {
    const special = (key: string, candidates: string[]): number | null => {
      const named = tokenContent(config[key]);
      const names = named === undefined ? candidates : [named];
      for (const name of names) {
        const id = inner.token_to_id(name);
        if (id !== undefined) return id;
      }
      return null;
    };
    this.eosTokenId = special('eos_token', EOS_CANDIDATES);
    this.bosTokenId = special('bos_token', BOS_CANDIDATES) ?? this.eosTokenId;
    this.padTokenId = special('pad_token', PAD_CANDIDATES) ?? this.eosTokenId;
    this.vocabSize = inner.model?.vocab.length ?? 0;
    this.prependsBos = inner.encode('', { add_special_tokens: true }).ids.length > 0;
  }

  /**
   * Builds a tokenizer from parsed JSON.
   * @param tokenizerJson the parsed tokenizer.json
   * @param tokenizerConfig the parsed tokenizer_config.json, if any
   * @param source a name for error messages
   * @throws CheckpointError when the JSON is not a tokenizer tokenizers.js can build.
   */
  static fromJson(
    tokenizerJson: unknown,
    tokenizerConfig: unknown = {},
    source = 'tokenizer.json',
  ): LensTokenizer {
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
      throw new CheckpointError(`${source}: expected a tokenizer.json object with a 'model' entry.`);
    }
    if (!isObject(tokenizerConfig)) {
      throw new CheckpointError(`${source}: tokenizer_config.json must hold a JSON object.`);
    }
    checkModel(tokenizerJson.model, source);
    const json: Record<string, unknown> = { added_tokens: [], ...tokenizerJson };
    for (const key of REQUIRED_KEYS) json[key] ??= null;
    let inner: HfTokenizer;
    try {
      inner = new Tokenizer(json, tokenizerConfig);
    } catch (e) {
      throw new CheckpointError(`${source}: cannot build the tokenizer: ${(e as Error).message}`);
    }
    return new LensTokenizer(inner, tokenizerConfig, source);
  }

  /**
   * Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder.
   * @throws CheckpointError when tokenizer.json is missing, unreadable or not valid JSON.
   */
  static async fromFolder(folder: string): Promise<LensTokenizer> {
    const path = join(folder, 'tokenizer.json');
    const json = await readJson(path);
    if (json === undefined) throw new CheckpointError(`Folder ${folder} has no tokenizer.json.`);
    const config = (await readJson(join(folder, 'tokenizer_config.json'))) ?? {};
    return LensTokenizer.fromJson(json, config, path);
  }

  /** Token ids of `text`, without special tokens (no BOS). */
  encode(text: string): number[] {
    const { ids, tokens } = this.inner.encode(text, { add_special_tokens: false });
    const bad = ids.findIndex((id) => !Number.isInteger(id));
    if (bad >= 0) {
      const word = this.unencodableWord(text);
      throw new TokenError(
        `Text ${JSON.stringify(text)} has ${word === undefined ? '' : `${JSON.stringify(word)}, which becomes `}` +
          `token '${tokens[bad]}', not in the vocabulary; expected text made of the vocabulary's tokens.`,
      );
    }
    return ids;
  }

  /** The first whitespace-separated piece of `text` that does not encode on its own (error path only). */
  private unencodableWord(text: string): string | undefined {
    return text
      .split(/\s+/)
      .filter(Boolean)
      .find((w) =>
        this.inner.encode(w, { add_special_tokens: false }).ids.some((id) => !Number.isInteger(id)),
      );
  }

  /** The text of `ids` decoded together, special tokens kept, spaces not cleaned up. */
  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Each id decoded on its own, as TransformerLens's `to_str_tokens`. */
  decodeEach(ids: readonly number[]): string[] {
    return ids.map((id) => this.decode([id]));
  }

  /** The id of a vocabulary entry (e.g. 'Ġthe', '<|endoftext|>'), if it exists. */
  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** The vocabulary entry of an id, if it exists. */
  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }
}

const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram'];

/**
 * Checks the parts of tokenizer.json's `model` that tokenizers.js reads without checking, so a
 * file missing one fails with its name and the missing key rather than a TypeError from inside
 * the library (a BPE without `merges` gave "Cannot read properties of undefined (reading '0')").
 */
function checkModel(model: Record<string, unknown>, source: string): void {
  const type = model.type;
  if (type === undefined) return; // old files without a type: tokenizers.js infers one from the keys
  if (typeof type !== 'string' || !MODEL_TYPES.includes(type)) {
    throw new CheckpointError(
      `${source}: model.type is ${JSON.stringify(type)}; expected one of ${MODEL_TYPES.join(', ')}.`,
    );
  }
  const keys = Object.keys(model).join(', ');
  const missing = (key: string, what: string): CheckpointError =>
    new CheckpointError(
      `${source}: the ${type} model has ${model[key] === undefined ? 'no' : `a malformed`} '${key}'; ` +
        `expected ${what}. The model entry has keys: ${keys}.`,
    );
  if (type === 'Unigram') {
    const ok = (e: unknown) =>
      Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'number';
    if (!Array.isArray(model.vocab) || !model.vocab.every(ok)) {
      throw missing('vocab', 'a list of [token, score] pairs');
    }
    return;
  }
  const vocab = model.vocab;
  if (!isObject(vocab) || !Object.values(vocab).every((id) => Number.isInteger(id))) {
    throw missing('vocab', 'an object mapping each token to its integer id');
  }
  if (type === 'BPE') {
    // Two spellings exist: "a b" strings (older files) and ["a", "b"] pairs (tokenizers ≥ 0.20).
    const pair = (m: unknown) =>
      (typeof m === 'string' && m.includes(' ')) ||
      (Array.isArray(m) && m.length === 2 && m.every((p) => typeof p === 'string'));
    if (!Array.isArray(model.merges) || !model.merges.every(pair)) {
      throw missing('merges', 'a list of merges, each "a b" or ["a", "b"] (an empty list for no merges)');
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// tokenizer_config.json writes special tokens as strings or as AddedToken objects {content, …}.
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(`Cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CheckpointError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}
