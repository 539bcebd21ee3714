/**
 * TransformerLens's token helpers bound to a model (`to_tokens`, `to_str_tokens`, `to_string`,
 * `to_single_token`): the model's tokenizer and config, and an error when it has no tokenizer.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import { toSingleToken, toStrTokens, toString, toTokens, type ToTokensOptions } from '../core/tokens.js';
import { InvalidArgumentError } from '../errors.js';
import { hostIds } from './hostIds.js';

/**
 * Token ids as host data. A tensor is refused with the way to read it (`await tokens.array()`):
 * the library never reads a tensor synchronously, which webgpu in Node cannot do.
 */
type TokensLike = number | readonly number[] | readonly (readonly number[])[];

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
  input: string | readonly number[] | readonly (readonly number[])[],
  options: { prependBos?: boolean } = {},
): string[] {
  const tok = requireTokenizer(m, 'toStrTokens');
  if (typeof input === 'string') return toStrTokens(tok, m.cfg, input, options);
  return toStrTokens(tok, m.cfg, hostIds(input, 'toStrTokens') as number[] | number[][]);
}

/** Text of tokens: [pos] gives a string, [batch, pos] one string per row. */
export function modelToString(m: TokenModel, tokens: TokensLike): string | string[] {
  return toString(requireTokenizer(m, 'toString'), m.cfg, hostIds(tokens, 'toString') as number[]);
}

/** The id of `text`, which must be exactly one token (no BOS). */
export function modelToSingleToken(m: TokenModel, text: string): number {
  return toSingleToken(requireTokenizer(m, 'toSingleToken'), m.cfg, text);
}
