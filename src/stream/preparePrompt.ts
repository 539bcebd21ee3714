/**
 * One prompt of a stream, checked and tokenized as soon as it is read, so a bad prompt is reported
 * by its index before any batch containing it runs.
 */
import { InvalidArgumentError, TokenError } from '../errors.js';
import { checkTokenIds, toTokens } from '../core/tokens.js';
import type { PromptInput, StreamModel } from './CacheBatch.js';

/** A prompt as token ids, with its answer's id when the record has one. */
export interface PreparedPrompt<P> {
  record: P;
  ids: number[];
  answer: number | null;
}

function answerId(model: StreamModel, answer: unknown): number | null {
  if (answer === undefined || answer === null) return null;
  if (typeof answer === 'string') return model.toSingleToken(answer);
  if (typeof answer === 'number') {
    const vocab = model.cfg.dVocabOut;
    if (!Number.isInteger(answer) || answer < 0 || answer >= vocab)
      throw new TokenError(`answer id ${answer} given; expected an integer in [0, ${vocab - 1}].`);
    return answer;
  }
  throw new InvalidArgumentError(`answer is ${typeof answer}; expected a single-token string or an id.`);
}

/** How a text prompt becomes token ids (the text options of `streamCaches`). */
export interface PromptTokenOptions {
  /** Prepend BOS to text (default `cfg.defaultPrependBos`). */
  prependBos?: boolean;
  /** Cut text longer than n_ctx tokens to its first n_ctx (default false: an error). */
  truncate?: boolean;
}

/**
 * Token ids of `input` (text gets BOS as `prependBos` and is cut to n_ctx with `truncate`; ids are
 * used as given) and its answer.
 * @throws TokenError / InvalidArgumentError saying what is wrong with the prompt.
 */
export function preparePrompt<P extends PromptInput>(
  model: StreamModel,
  input: P,
  { prependBos, truncate = false }: PromptTokenOptions = {},
): PreparedPrompt<P> {
  const isRecord = input !== null && typeof input === 'object' && !Array.isArray(input);
  const prompt: unknown = isRecord ? (input as { prompt?: unknown }).prompt : input;
  const answer = isRecord ? answerId(model, (input as { answer?: unknown }).answer) : null;
  if (typeof prompt === 'string') {
    if (!model.tokenizer)
      throw new InvalidArgumentError('A text prompt needs a tokenizer; this model has none. Pass token ids.');
    const { ids } = toTokens(model.tokenizer, model.cfg, prompt, { prependBos, truncate });
    return { record: input, ids: ids[0], answer };
  }
  if (Array.isArray(prompt)) {
    const ids = [...(prompt as number[])];
    checkTokenIds([ids], model.cfg);
    return { record: input, ids, answer };
  }
  throw new InvalidArgumentError(
    `A prompt is ${prompt === null ? 'null' : typeof prompt}; expected text, token ids or { prompt, answer? }.`,
  );
}
