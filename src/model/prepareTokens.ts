/**
 * Turns whatever a user passes a model (text, ids, a tensor) into validated int32 tokens
 * [batch, pos] and, for padded batches, an attention mask. Validation happens here, once,
 * before any compute: empty input, ids outside the vocabulary, sequences longer than n_ctx.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, TokenError } from '../errors.js';
import type { HookedTransformerConfig } from './config.js';
import type { ModelTokenizer } from './ModelTokenizer.js';

/** Text, texts, ids [pos], ids [batch][pos] or an int tensor [pos] / [batch, pos]. */
export type ModelInput =
  string | readonly string[] | readonly number[] | readonly (readonly number[])[] | tf.Tensor;

export interface PreparedTokens {
  tokens: tf.Tensor2D;
  attentionMask?: tf.Tensor2D;
  dispose(): void;
}

/** Ids of each text, with BOS first when asked (TransformerLens's default: `cfg.defaultPrependBos`). */
export function encodeTexts(
  texts: readonly string[],
  tokenizer: ModelTokenizer | undefined,
  prependBos: boolean,
): number[][] {
  if (!tokenizer)
    throw new InvalidArgumentError('Text input needs a tokenizer; this model has none. Pass token ids.');
  return texts.map((text, i) => {
    if (typeof text !== 'string')
      throw new InvalidArgumentError(`Prompt ${i} is ${typeof text}; expected a string.`);
    if (text.length === 0 && !prependBos)
      throw new TokenError(`Prompt ${i} is empty; expected at least one token.`);
    const ids = tokenizer.encode(text);
    if (prependBos) {
      if (tokenizer.bosTokenId === null)
        throw new TokenError('prependBos is set but the tokenizer has no BOS token.');
      ids.unshift(tokenizer.bosTokenId);
    }
    if (ids.length === 0)
      throw new TokenError(`Prompt ${i} '${text}' gave no tokens; expected at least one.`);
    return ids;
  });
}

function rows(
  input: Exclude<ModelInput, tf.Tensor | string>,
  tokenizer: ModelTokenizer | undefined,
  bos: boolean,
) {
  if (input.length === 0) throw new TokenError('Empty input given; expected at least one prompt or token.');
  if (input.every((x) => typeof x === 'string')) return encodeTexts(input, tokenizer, bos);
  if (input.every((x) => typeof x === 'number')) return [[...(input as number[])]];
  if (input.every((x) => Array.isArray(x))) return (input as number[][]).map((r) => [...r]);
  throw new InvalidArgumentError('Input mixes kinds; expected strings, token ids, or rows of token ids.');
}

/** Validates and pads `input`; the caller disposes the result. */
export function prepareTokens(
  input: ModelInput,
  cfg: HookedTransformerConfig,
  tokenizer: ModelTokenizer | undefined,
  prependBos = cfg.defaultPrependBos,
  attentionMask?: tf.Tensor | number[][],
): PreparedTokens {
  let ids: number[][];
  if (input instanceof tf.Tensor) {
    if (input.rank !== 1 && input.rank !== 2) {
      throw new InvalidArgumentError(
        `Token tensor of rank ${input.rank} given; expected [pos] or [batch, pos].`,
      );
    }
    const data = input.arraySync();
    ids = input.rank === 1 ? [data as number[]] : (data as number[][]);
  } else if (typeof input === 'string') {
    ids = encodeTexts([input], tokenizer, prependBos);
  } else {
    ids = rows(input, tokenizer, prependBos);
  }
  const pos = Math.max(...ids.map((r) => r.length));
  if (pos === 0) throw new TokenError('Empty sequence given; expected at least one token.');
  if (pos > cfg.nCtx)
    throw new TokenError(`A sequence of ${pos} tokens given; expected at most n_ctx = ${cfg.nCtx}.`);
  for (const row of ids) {
    for (const id of row) {
      if (!Number.isInteger(id) || id < 0 || id >= cfg.dVocab) {
        throw new TokenError(`Token id ${id} given; expected an integer in [0, ${cfg.dVocab - 1}].`);
      }
    }
  }
  const ragged = ids.some((r) => r.length !== pos);
  if (ragged && input instanceof tf.Tensor) throw new InvalidArgumentError('internal: ragged tensor');
  const pad = tokenizer?.padTokenId ?? 0;
  // Right padding, as TransformerLens's default: causal attention keeps real positions exact.
  const padded = ids.map((r) => [...r, ...new Array<number>(pos - r.length).fill(pad)]);
  const tokens = tf.tensor2d(padded, [ids.length, pos], 'int32');
  let mask: tf.Tensor2D | undefined;
  if (attentionMask !== undefined) {
    mask = (
      attentionMask instanceof tf.Tensor
        ? tf.cast(attentionMask, 'float32')
        : tf.tensor2d(attentionMask, undefined, 'float32')
    ) as tf.Tensor2D;
    if (mask.shape.join() !== tokens.shape.join()) {
      const given = mask.shape.join(', ');
      mask.dispose();
      tokens.dispose();
      throw new InvalidArgumentError(
        `attentionMask of shape [${given}] given; expected [${tokens.shape.join(', ')}] like the tokens.`,
      );
    }
  }
  return {
    tokens,
    attentionMask: mask,
    dispose() {
      tokens.dispose();
      mask?.dispose();
    },
  };
}
