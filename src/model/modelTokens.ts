/**
 * TransformerLens's token helpers bound to a model (`to_tokens`, `to_str_tokens`, `to_string`,
 * `to_single_token`): the model's tokenizer and config, and an error when it has no tokenizer.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import { toSingleToken, toStrTokens, toString, toTokens, type ToTokensOptions } from '../core/tokens.js';
import { InvalidArgumentError } from '../errors.js';

/** Ids as a host array, a tensor's values read synchronously. */
type TokensLike = number | readonly number[] | readonly (readonly number[])[] | tf.Tensor;

/** The model side of the token helpers. */
export interface TokenModel {
  readonly cfg: HookedTransformerConfig;
  readonly tokenizer?: ModelTokenizer;
}

function requireTokenizer(m: TokenModel, what: string): ModelTokenizer {
  if (!m.tokenizer) throw new InvalidArgumentError(`${what} needs a tokenizer; this model has none.`);
  return m.tokenizer;
}

/** Tokens [batch, pos] as an int32 tensor owned by the caller (TransformerLens's `to_tokens`). */
export function modelToTokens(
  m: TokenModel,
  input: string | readonly string[],
  options: ToTokensOptions = {},
): tf.Tensor2D {
  const { ids } = toTokens(requireTokenizer(m, 'toTokens'), m.cfg, input, options);
  return tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
}

/** Each token of `input` as text; a string is tokenized first (BOS by default). */
export function modelToStrTokens(
  m: TokenModel,
  input: string | readonly number[] | tf.Tensor,
  options: { prependBos?: boolean } = {},
): string[] {
  const tok = requireTokenizer(m, 'toStrTokens');
  if (typeof input === 'string') return toStrTokens(tok, m.cfg, input, options);
  const ids = input instanceof tf.Tensor ? (input.arraySync() as number[] | number[][]) : input;
  return toStrTokens(tok, m.cfg, ids);
}

/** Text of tokens: [pos] gives a string, [batch, pos] one string per row. */
export function modelToString(m: TokenModel, tokens: TokensLike): string | string[] {
  const data = tokens instanceof tf.Tensor ? (tokens.arraySync() as number | number[] | number[][]) : tokens;
  return toString(requireTokenizer(m, 'toString'), m.cfg, data as number[]);
}

/** The id of `text`, which must be exactly one token (no BOS). */
export function modelToSingleToken(m: TokenModel, text: string): number {
  return toSingleToken(requireTokenizer(m, 'toSingleToken'), m.cfg, text);
}
