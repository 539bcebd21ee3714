/**
 * A forward pass over new tokens only, after the positions a {@link KeyValueCache} holds: the same
 * blocks as the full forward, with each attention reading the cached keys and values as well as its
 * own, and every hook point firing on the new positions (`[batch, new, ...]`; attention scores and
 * pattern `[batch, head, new, cached + new]`).
 */
import * as tf from '@tensorflow/tfjs';
import { checkTokenIds } from '../core/tokens.js';
import { InvalidArgumentError, TokenError } from '../errors.js';
import { runForward } from './forward.js';
import type { KeyValueCache } from './kvCache.js';
import { dispatchHooks, passLocalCtx } from './hooks.js';
import type { CompiledHooks, PassModel } from './runPass.js';

/**
 * Runs `tokens` [batch][new] as the positions after those in `cache`, which it extends, and
 * returns their logits [batch, new, d_vocab_out] (owned by the caller), or only the last column's
 * [batch, 1, d_vocab_out] with `logits: 'last'`. `newMask` [batch][new] marks padding among the
 * new tokens with 0 (left padding of a prompt); without it all are real tokens.
 * A failed pass leaves some layers extended and others not, so it frees the cache.
 * @throws TokenError for bad ids or when the sequence would outgrow n_ctx; InvalidArgumentError for a bad mask.
 */
export function runIncremental(
  m: PassModel,
  tokens: readonly (readonly number[])[],
  cache: KeyValueCache,
  hooks: CompiledHooks,
  newMask?: readonly (readonly number[])[],
  logits: 'all' | 'last' = 'all',
): tf.Tensor {
  checkTokenIds(tokens, m.cfg);
  if (tokens.length !== cache.batch) {
    throw new InvalidArgumentError(
      `Token ids of ${tokens.length} rows given; expected ${cache.batch}, the KV cache's batch.`,
    );
  }
  const pos = tokens[0].length;
  if (cache.length + pos > m.cfg.nCtx) {
    throw new TokenError(
      `The KV cache holds ${cache.length} positions and ${pos} more are given; expected at most nCtx = ${m.cfg.nCtx} in all.`,
    );
  }
  let ids: tf.Tensor | undefined;
  let mask: tf.Tensor | undefined;
  try {
    cache.advance(pos, newMask);
    ids = tf.tensor2d(tokens as number[][], [tokens.length, pos], 'int32');
    const rows = cache.attentionMask;
    mask = rows && tf.tensor2d(rows, [rows.length, cache.length], 'float32');
    const [tokenIds, attentionMask] = [ids, mask];
    return tf.tidy(() =>
      runForward(m.cfg, m.params, tokenIds, dispatchHooks(hooks, m.hookCtx ?? passLocalCtx()), {
        attentionMask,
        past: cache,
        projections: m.projections,
        logits,
        observes: (name) => hooks.some(([match]) => match(name)),
      }),
    );
  } catch (e) {
    cache.dispose();
    throw e;
  } finally {
    tf.dispose([ids ?? [], mask ?? []]);
  }
}
