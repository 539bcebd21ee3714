/**
 * What a pass must compute for its caller: which logits (all positions, each row's last real
 * token, none) and how many blocks, given the hook points something observes. A pass that asks for
 * less runs less: no unembedding at positions nobody reads, no block after the last one a hook or
 * the cache reaches.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import { blockHookNames } from '../core/hookPoints.js';
import { InvalidArgumentError } from '../errors.js';
import type { LogitsWanted, ReturnType } from './options.js';

const LOGITS: readonly LogitsWanted[] = ['all', 'last', 'none'];

/**
 * The `logits` option, checked against `returnType` and `stopAtLayer`.
 * @throws InvalidArgumentError for an unknown value or a combination that cannot be computed.
 */
export function checkLogits(
  logits: unknown,
  returnType: ReturnType,
  stopAtLayer: number | undefined,
): LogitsWanted {
  if (logits === undefined) return 'all';
  if (!LOGITS.includes(logits as LogitsWanted)) {
    const given = typeof logits === 'string' ? `'${logits}'` : `a ${typeof logits}`;
    throw new InvalidArgumentError(`logits ${given} given; expected 'all', 'last' or 'none'.`);
  }
  const want = logits as LogitsWanted;
  if (want !== 'all' && returnType !== 'logits') {
    throw new InvalidArgumentError(
      `returnType '${returnType}' given with logits '${want}'; expected logits 'all' (the loss needs the logits at every position) or returnType 'logits'.`,
    );
  }
  if (want === 'last' && stopAtLayer !== undefined) {
    throw new InvalidArgumentError(
      `logits 'last' given with stopAtLayer ${stopAtLayer}; expected one of them: stopAtLayer returns the residual stream, not logits.`,
    );
  }
  return want;
}

/** Whether anything observes `ln_final`'s hook points: then the final norm runs even without logits. */
export function observesFinalLn(observes: (name: string) => boolean): boolean {
  return observes('ln_final.hook_scale') || observes('ln_final.hook_normalized');
}

/**
 * How many blocks a pass without logits must run: up to the last block holding an observed hook
 * point, or all of them when `ln_final` is observed. 0 when only the embedding hooks are.
 */
export function neededDepth(cfg: HookedTransformerConfig, observes: (name: string) => boolean): number {
  if (observesFinalLn(observes)) return cfg.nLayers;
  for (let l = cfg.nLayers - 1; l >= 0; l--) {
    if (blockHookNames(cfg, l).some(observes)) return l + 1;
  }
  return 0;
}

/**
 * @throws InvalidArgumentError unless every row's last real token is a position of the `pos` columns
 * (a row whose attention mask marks nothing real has none).
 */
export function checkLastPositions(lastPositions: readonly number[], pos: number): void {
  const bad = lastPositions.findIndex((p) => !Number.isInteger(p) || p < 0 || p >= pos);
  if (bad >= 0) {
    throw new InvalidArgumentError(
      `logits 'last': row ${bad} of the attention mask marks no real token; expected at least one per row.`,
    );
  }
}

/**
 * `x` [batch, pos, ...] at each row's `lastPositions` entry: [batch, 1, ...]. A gather, never a
 * slice: on wasm a slice copies its whole input first.
 */
export function atLastPositions(x: tf.Tensor, lastPositions: readonly number[]): tf.Tensor {
  const [batch, pos, ...rest] = x.shape;
  if (lastPositions.length !== batch) {
    throw new InvalidArgumentError(
      `lastPositions of ${lastPositions.length} rows given; expected one per row of the batch (${batch}).`,
    );
  }
  checkLastPositions(lastPositions, pos);
  return tf.tidy(() => {
    // Left padding (and no padding): every row ends at the last column, one index on the pos axis.
    if (lastPositions.every((p) => p === pos - 1)) return tf.gather(x, tf.tensor1d([pos - 1], 'int32'), 1);
    const rows = lastPositions.map((p, b) => b * pos + p);
    const flat = tf.reshape(x, [batch * pos, ...rest]);
    return tf.reshape(tf.gather(flat, tf.tensor1d(rows, 'int32'), 0), [batch, 1, ...rest]);
  });
}
