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
  dispose(): void;
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

/** Validates and pads `input`; the caller disposes the result. */
export function prepareTokens(
  input: ModelInput,
  cfg: HookedTransformerConfig,
  tokenizer: ModelTokenizer | undefined,
  options: TokenOptions = {},
): PreparedTokens {
  checkInputKind(input);
  let ids: number[][];
  let mask: number[][] | undefined;
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
  } else if (input instanceof tf.Tensor) {
    if (input.rank !== 1 && input.rank !== 2) {
      throw new InvalidArgumentError(
        `Token tensor of rank ${input.rank} given; expected [pos] or [batch, pos].`,
      );
    }
    const data = input.arraySync();
    ids = input.rank === 1 ? [data as number[]] : (data as number[][]);
  } else {
    ids = idRows(input as Exclude<ModelInput, string | tf.Tensor>);
  }
  checkTokenIds(ids, cfg);
  const tokens = tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
  let maskT: tf.Tensor2D | undefined;
  const given = options.attentionMask;
  if (given !== undefined || mask) {
    maskT = tf.tidy(() =>
      given instanceof tf.Tensor
        ? tf.cast(given, 'float32')
        : tf.tensor2d(given ?? (mask as number[][]), undefined, 'float32'),
    ) as tf.Tensor2D;
    if (maskT.shape.join() !== tokens.shape.join()) {
      const shape = maskT.shape.join(', ');
      tf.dispose([maskT, tokens]);
      throw new InvalidArgumentError(
        `attentionMask of shape [${shape}] given; expected [${tokens.shape.join(', ')}] like the tokens.`,
      );
    }
  }
  return {
    tokens,
    attentionMask: maskT,
    dispose() {
      tokens.dispose();
      maskT?.dispose();
    },
  };
}
