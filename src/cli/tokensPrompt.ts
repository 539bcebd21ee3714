/**
 * `--tokens 1,2,3`: the prompt as token ids, for a model without a tokenizer or to feed exact ids.
 */
import { InvalidArgumentError as FlagError } from 'commander';
import type { PromptInfo } from '../analysis/types.js';
import { UsageError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';

/** Parses `--tokens`: comma-separated integers ≥ 0 (the vocabulary bound is checked once loaded). */
export function tokenList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new FlagError('Expected comma-separated token ids (integers ≥ 0), e.g. 1,2,3.');
  return parts.map(Number);
}

/**
 * The prompt from token ids, used as given (no BOS is added).
 * @throws UsageError for an id outside [0, d_vocab) or more ids than n_ctx.
 */
export function promptFromTokens(model: HookedTransformer, ids: readonly number[]): PromptInfo {
  const { dVocab, nCtx } = model.cfg;
  const bad = ids.find((id) => id >= dVocab);
  if (bad !== undefined)
    throw new UsageError(`--tokens: token id ${bad} given; expected an integer in [0, ${dVocab}).`);
  if (ids.length > nCtx)
    throw new UsageError(`--tokens: ${ids.length} ids given; expected at most n_ctx = ${nCtx}.`);
  const tokens = model.tokenizer ? model.toStrTokens([...ids]) : ids.map(idLabel);
  return { text: tokens.join(''), builtin: false, tokens, ids: [...ids] };
}

/** How a token is shown when the model has no tokenizer to name it: its id, `#42`. */
export function idLabel(id: number): string {
  return `#${id}`;
}

/** The token's text, or {@link idLabel} for a model without a tokenizer. */
export function tokenLabel(model: HookedTransformer, id: number): string {
  return model.tokenizer ? (model.toString([id]) as string) : idLabel(id);
}

/**
 * `--answer`: one token, as text, or by id as `#42` (the form the commands print for a model
 * without a tokenizer).
 * @throws UsageError for text on a model without a tokenizer, or an id outside [0, d_vocab).
 */
export function answerTokenId(model: HookedTransformer, given: string): number {
  const byId = /^#(\d+)$/.exec(given.trim());
  if (byId) {
    const id = Number(byId[1]);
    if (id >= model.cfg.dVocab)
      throw new UsageError(
        `--answer: token id ${id} given; expected an integer in [0, ${model.cfg.dVocab}).`,
      );
    return id;
  }
  if (!model.tokenizer)
    throw new UsageError(
      `--answer ${JSON.stringify(given)}: this model has no tokenizer to read text; expected the token by id, e.g. --answer '#42'.`,
    );
  return model.toSingleToken(given);
}
