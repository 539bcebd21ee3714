/**
 * Direct logit attribution of each prompt of a padded batch at its own last real token — what
 * TransformerLens computes with `posSlice: -1` for one prompt, done per row.
 *
 * Approach: the stack is built at the distinct last positions only (one position for left
 * padding, where every prompt ends at the last column: then it is exactly TL's `posSlice: -1`), its
 * attribution is taken for every row at those positions (`[components, batch, positions]`), and a
 * one-hot selector picks each row's own position (`[components, batch]`). The cost is
 * components × batch × distinct positions, never × d_model.
 */
import * as tf from '@tensorflow/tfjs';
import * as g from '../../graph/index.js';
import type { ActivationCache } from '../cache/ActivationCache.js';
import { InvalidArgumentError } from '../errors.js';
import type { CacheBatch } from './CacheBatch.js';

/** Options of {@link lastTokenDla}. */
export interface LastTokenDlaOptions {
  /** Answer id per row; default each record's `answer`, else the model's top prediction there. */
  answers?: readonly number[];
  /** Attribute the logit difference against these ids (one per row). */
  incorrectTokens?: readonly number[];
  /**
   * The residual stack at `posSlice` (default `cache.decomposeResid({ posSlice })`); e.g.
   * `(c, ps) => c.getFullResidDecomposition({ posSlice: ps, expandNeurons: false })`.
   */
  stack?: (cache: ActivationCache, posSlice: g.SliceInput) => g.Lazy;
}

/**
 * Each row's answer: given, from its record, or the argmax of its logits at its last token.
 * @param batch the batch whose rows need answers.
 * @param given one answer id per row, overriding the records' answers.
 * @throws InvalidArgumentError when `given` has the wrong length, or an answer would be the argmax
 *   of logits that are not finite (it would be an arbitrary token).
 */
export function answerIds<P>(batch: CacheBatch<P>, given?: readonly number[]): number[] {
  if (given) {
    if (given.length !== batch.size)
      throw new InvalidArgumentError(
        `${given.length} answers given; expected one per prompt (${batch.size}).`,
      );
    return [...given];
  }
  return batch.answers.map((a, i) => {
    if (a !== null) return a;
    if (!batch.finiteLogits[i]) {
      throw new InvalidArgumentError(
        `prompt ${batch.indices[i]}: the logits are not finite (NaN or ±Infinity) at its last token ` +
          `(position ${batch.lastPositions[i]}), so the model has no top prediction to attribute; ` +
          'expected finite logits, or give the prompt an answer.',
      );
    }
    return batch.predictions[i];
  });
}

/**
 * The direct logit attribution of each prompt's answer at its own last real token.
 * @returns Lazy `[components, batch]` with the stack's labels; reads the batch's cache, so
 *   materialize it while the batch is alive (`mapToLazy` → `materialize`).
 * @param batch a `CacheBatch` of `streamCaches`, still alive.
 * @param options answers, a logit difference, and which residual stack (see
 *   {@link LastTokenDlaOptions}).
 * @example
 * ```ts
 * import { HookedTransformer, lastTokenDla, mapToLazy, materialize, streamCaches } from 'lazylens';
 * import { lastValueFrom } from 'rxjs';
 *
 * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
 * const prompts = [
 *   { prompt: 'cat dog tree sun cat dog tree', answer: 'sun' },
 *   { prompt: 'red ball red', answer: 'ball' },
 * ];
 * const dla = await lastValueFrom(
 *   // Only the last tokens' logits are read (for answers a record lacks): skip the rest.
 *   streamCaches(model, prompts, { batchSize: 2, logits: 'last' }).pipe(
 *     mapToLazy((b) => lastTokenDla(b)),
 *     materialize(),
 *   ),
 * );
 * dla.shape;   // [6, 2]: components × prompts, each at its own last token
 * model.dispose();
 * ```
 */
export function lastTokenDla<P>(batch: CacheBatch<P>, options: LastTokenDlaOptions = {}): g.Lazy {
  const cache = batch.cache;
  const answers = answerIds(batch, options.answers);
  const incorrect = options.incorrectTokens;
  if (incorrect && incorrect.length !== batch.size)
    throw new InvalidArgumentError(
      `${incorrect.length} incorrectTokens given; expected one per prompt (${batch.size}).`,
    );
  const build =
    options.stack ?? ((c: ActivationCache, ps: g.SliceInput) => c.decomposeResid({ posSlice: ps }));
  const positions = [...new Set(batch.lastPositions)].sort((a, b) => a - b);
  let stack: g.Lazy;
  let attrs: g.Lazy;
  if (positions.length === 1) {
    const ps = positions[0];
    stack = build(cache, ps);
    attrs = cache.logitAttrs(stack, answers, { posSlice: ps, incorrectTokens: incorrect && [...incorrect] });
  } else {
    // One direction per row ([batch, 1] ids), broadcast over the positions by the dot: W_U is
    // read for each answer once, not once per (row, position).
    const perRow = (ids: readonly number[]): number[][] => ids.map((id) => [id]);
    stack = build(cache, positions);
    const perPos = cache.logitAttrs(stack, perRow(answers), {
      posSlice: positions,
      incorrectTokens: incorrect && perRow(incorrect),
    }); // [components, batch, positions]
    const pick = batch.lastPositions.map((p) => positions.map((q) => (q === p ? 1 : 0)));
    const selector = batch.track(tf.tensor2d(pick, undefined, 'float32'));
    attrs = perPos.mul(selector).sum(2);
  }
  const labels = stack.labels;
  return labels ? new g.Lazy(g.rename(attrs.node, attrs.dims, labels), attrs.planOptions) : attrs;
}
