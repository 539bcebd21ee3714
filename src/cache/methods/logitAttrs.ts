/**
 * `logitAttrs`: how much each component of a residual stack pushes the logit of `tokens` (or the
 * logit difference against `incorrectTokens`), through the final LN's cached scale. A dot with
 * unembedding directions, so the planner moves it below the stack's expansions.
 */
import * as tf from '@tensorflow/tfjs';
import * as g from '../../../graph/index.js';
import { InvalidArgumentError, TokenError } from '../../errors.js';
import { applyLnToStack } from './applyLnToStack.js';
import type { CacheGraph } from '../CacheGraph.js';

/**
 * A single-token string, an id, or ids [batch] / [batch, pos] as arrays. A token tensor is read
 * first (`await tokens.array()`): the graph is built synchronously, and the library never reads a
 * tensor synchronously (webgpu in Node cannot).
 */
export type TokensArg = string | number | readonly number[] | readonly (readonly number[])[];

/** Options of {@link ActivationCache.logitAttrs}. */
export interface LogitAttrsOptions {
  /** Attribute the logit difference `tokens − incorrectTokens` (same shape as `tokens`). */
  incorrectTokens?: TokensArg;
  /** Positions the stack was sliced to (the cached scale is sliced the same way). */
  posSlice?: g.SliceInput;
  /** Batch entries to keep (stack dim 1 and the scale). */
  batchSlice?: g.SliceInput;
  /** Whether the stack has a batch dim. Default true. */
  hasBatchDim?: boolean;
}

interface Ids {
  flat: number[];
  shape: number[];
}

function toIds(cg: CacheGraph, tokens: TokensArg, what: string): Ids {
  if (typeof tokens === 'string') return { flat: [cg.model.toSingleToken(tokens)], shape: [] };
  if (typeof tokens === 'number') return { flat: [tokens], shape: [] };
  if ((tokens as unknown) instanceof tf.Tensor) {
    throw new InvalidArgumentError(
      `${what} given as a tensor; expected ids as numbers: read it first with \`await ${what}.array()\`.`,
    );
  }
  if (!Array.isArray(tokens))
    throw new InvalidArgumentError(`${what} is ${typeof tokens}; expected a string, id(s) or a tensor.`);
  const rows = tokens as readonly (number | readonly number[])[];
  if (rows.length > 0 && Array.isArray(rows[0])) {
    const r2 = rows as readonly (readonly number[])[];
    if (r2.some((r) => r.length !== r2[0].length))
      throw new InvalidArgumentError(`${what} rows differ in length; expected [batch, pos].`);
    return { flat: r2.flat(), shape: [r2.length, r2[0].length] };
  }
  return { flat: [...(rows as readonly number[])], shape: [rows.length] };
}

/** Unembedding directions of `ids`: [...ids.shape, d_model]. */
function directions(cg: CacheGraph, ids: Ids): g.Node {
  const vocab = cg.cfg.dVocabOut;
  for (const id of ids.flat) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new TokenError(`Token id ${id} given; expected an integer in [0, ${vocab - 1}].`);
    }
  }
  const W_U = cg.weight('unembed.W_U', ['d_model', 'd_vocab']);
  const cols = g.transpose(g.slice(W_U, 1, ids.flat), [1, 0]); // [T, d]
  return g.reshape(cols, [...ids.shape, cg.cfg.dModel]);
}

/** Implements {@link ActivationCache.logitAttrs}; documented there. */
export function logitAttrs(
  cg: CacheGraph,
  stack: g.Lazy,
  tokens: TokensArg,
  options: LogitAttrsOptions = {},
): g.Lazy {
  const ids = toIds(cg, tokens, 'tokens');
  let dirs = directions(cg, ids);
  if (options.incorrectTokens !== undefined) {
    const wrong = toIds(cg, options.incorrectTokens, 'incorrectTokens');
    if (wrong.shape.join() !== ids.shape.join()) {
      throw new InvalidArgumentError(
        `tokens and incorrectTokens must have the same shape; given [${ids.shape.join(', ')}] and [${wrong.shape.join(', ')}].`,
      );
    }
    dirs = g.sub(dirs, directions(cg, wrong));
  }
  const scaled = applyLnToStack(
    cg,
    stack,
    {
      layer: -1,
      posSlice: options.posSlice,
      batchSlice: options.batchSlice,
      hasBatchDim: options.hasBatchDim,
    },
    'logitAttrs',
  );
  return scaled.dot(dirs);
}
