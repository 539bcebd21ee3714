/**
 * Turns whatever a user passes a model (text, ids, a tensor) into validated int32 tokens
 * [batch, pos] and, for left-padded batches, an attention mask. Validation happens here, once,
 * before any compute (empty input, ids outside the vocabulary, sequences longer than n_ctx),
 * through the token helpers of src/loading.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import { checkTokenIds, toTokens, type PaddingSide } from './tokens.js';
import type { HookedTransformerConfig } from './config.js';
import type { ModelTokenizer } from './ModelTokenizer.js';

/** Text, texts, ids [pos], ids [batch][pos] or an int tensor [pos] / [batch, pos]. */
export type ModelInput =
  string | readonly string[] | readonly number[] | readonly (readonly number[])[] | tf.Tensor;

/** How a text input becomes tokens: BOS, padding side, truncation. */
export interface TokenOptions {
  /** Prepend BOS to text input (default `cfg.defaultPrependBos`). */
  prependBos?: boolean;
  /** Where texts of different lengths are padded (default 'right', as TransformerLens). */
  paddingSide?: PaddingSide;
  /**
   * Cut text longer than n_ctx tokens to its first n_ctx tokens (TransformerLens's `truncate`);
   * default false: a too-long text is an error. Token ids are never cut.
   */
  truncate?: boolean;
  /** [batch, pos] of 1 (token) / 0 (padding); overrides the mask built for left padding. */
  attentionMask?: tf.Tensor | number[][];
}

export interface PreparedTokens {
  tokens: tf.Tensor2D;
  attentionMask?: tf.Tensor2D;
  /** The attention mask's rows on the host (rotary positions are computed there, in float64). */
  maskRows?: number[][];
  /**
   * Each row's last real token: the last position the attention mask marks real, for right-padded
   * text the last before its padding (which the model needs no mask for), else the last column.
   * -1 for a row whose mask marks nothing real.
   */
  lastPositions: number[];
  dispose(): void;
}

/** A mask tensor as host rows; a rank other than 2 is reported with its shape. */
async function maskArray(t: tf.Tensor): Promise<number[][]> {
  if (t.rank !== 2) {
    throw new InvalidArgumentError(
      `attentionMask of shape [${t.shape.join(', ')}] given; expected [batch, pos].`,
    );
  }
  return (await t.array()) as number[][];
}

function idRows(input: Exclude<ModelInput, string | tf.Tensor>): number[][] {
  if (input.length > 0 && input.every((x) => typeof x === 'number')) return [[...(input as number[])]];
  if (input.every((x) => Array.isArray(x))) return (input as number[][]).map((r) => [...r]);
  throw new InvalidArgumentError('Input mixes kinds; expected strings, token ids, or rows of token ids.');
}

const INPUT_KINDS =
  'text, texts, token ids [pos], rows of token ids [batch][pos] or an int32 tensor [pos] / [batch, pos]';

/** Fails on anything that is none of the input kinds, before any of them is assumed. */
function checkInputKind(input: unknown): void {
  if (typeof input === 'string' || Array.isArray(input) || input instanceof tf.Tensor) return;
  const kind = typeof input;
  const given = input === null ? 'null' : kind === 'undefined' ? 'undefined' : `${article(kind)} ${kind}`;
  throw new InvalidArgumentError(`Model input: given ${given}; expected ${INPUT_KINDS}.`);
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/**
 * Validates and pads `input`; the caller disposes the result. Asynchronous because a token tensor
 * (or a mask tensor) is read back to be validated, and reads must not block (webgpu has no
 * synchronous read in Node).
 */
export async function prepareTokens(
  input: ModelInput,
  cfg: HookedTransformerConfig,
  tokenizer: ModelTokenizer | undefined,
  options: TokenOptions = {},
): Promise<PreparedTokens> {
  checkInputKind(input);
  let ids: number[][];
  let mask: number[][] | undefined;
  let padded: number[][] | undefined;
  const texts =
    typeof input === 'string'
      ? [input]
      : Array.isArray(input) && typeof input[0] === 'string'
        ? input
        : undefined;
  if (texts) {
    if (!tokenizer)
      throw new InvalidArgumentError('Text input needs a tokenizer; this model has none. Pass token ids.');
    const side = options.paddingSide ?? 'right';
    const batch = toTokens(tokenizer, cfg, texts as string[], {
      prependBos: options.prependBos,
      paddingSide: side,
      truncate: options.truncate ?? false,
    });
    ids = batch.ids;
    // Right padding needs no mask: causal attention keeps real positions exact (as TransformerLens).
    if (side === 'left') mask = batch.attentionMask;
    else padded = batch.attentionMask;
  } else if (input instanceof tf.Tensor) {
    if (input.rank !== 1 && input.rank !== 2) {
      throw new InvalidArgumentError(
        `Token tensor of rank ${input.rank} given; expected [pos] or [batch, pos].`,
      );
    }
    const data = await input.array();
    ids = input.rank === 1 ? [data as number[]] : (data as number[][]);
  } else {
    ids = idRows(input as Exclude<ModelInput, string | tf.Tensor>);
  }
  checkTokenIds(ids, cfg);
  const given = options.attentionMask;
  const maskRows = given instanceof tf.Tensor ? await maskArray(given) : (given ?? mask);
  if (maskRows) {
    const width = maskRows[0]?.length ?? 0;
    const ragged = maskRows.some((r) => r.length !== width);
    if (ragged || maskRows.length !== ids.length || width !== ids[0].length) {
      const shape = ragged ? 'rows of different lengths' : `[${maskRows.length}, ${width}]`;
      throw new InvalidArgumentError(
        `attentionMask of shape ${shape} given; expected [${ids.length}, ${ids[0].length}] like the tokens.`,
      );
    }
  }
  const tokens = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
  const maskT = maskRows ? tf.tensor2d(maskRows, undefined, 'float32') : undefined;
  const real = maskRows ?? padded;
  const lastPositions = real
    ? real.map((row) => row.findLastIndex((m) => m !== 0))
    : ids.map((row) => row.length - 1);
  return {
    tokens,
    attentionMask: maskT,
    lastPositions,
    ...(maskRows ? { maskRows: maskRows.map((r) => [...r]) } : {}),
    dispose() {
      tokens.dispose();
      maskT?.dispose();
    },
  };
}
