/** The language-modelling loss `forward({ returnType: 'loss' })` returns. */
import * as tf from '@tensorflow/tfjs';
import { TokenError } from '../errors.js';

/** Options of {@link lmCrossEntropy}. */
export interface LossOptions {
  /**
   * [batch, pos] of 1 (token) / 0 (padding): a prediction counts only when its position and the
   * next are both real tokens (TransformerLens's `attention_mask` argument).
   */
  attentionMask?: tf.Tensor;
  /** Return the loss of each prediction `[batch, pos - 1]` (0 where masked) instead of the mean. */
  perToken?: boolean;
}

/**
 * Cross-entropy of predicting token t+1 from position t (TransformerLens's lm_cross_entropy_loss):
 * the mean over the predictions the mask keeps (all without a mask), or each one with `perToken`.
 */
export function lmCrossEntropy(logits: tf.Tensor, tokens: tf.Tensor, options: LossOptions = {}): tf.Tensor {
  const [b, p, v] = logits.shape;
  if (p < 2) throw new TokenError(`The loss needs at least 2 tokens per sequence; given ${p}.`);
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [b, p - 1, v]));
    const targets = tf.cast(tf.slice(tokens, [0, 1], [b, p - 1]), 'int32');
    // Gather each target's log-prob from the flattened [b·(p−1)·v] values: a one-hot product
    // would turn a −Inf log-prob elsewhere in the row (logits near ±3e38) into NaN.
    const rows = tf.mul(tf.range(0, b * (p - 1), 1, 'int32'), tf.scalar(v, 'int32'));
    const flat = tf.add(rows, tf.reshape(targets, [-1]));
    let picked = tf.reshape(tf.gather(tf.reshape(logProbs, [-1]), flat), [b, p - 1]);
    const mask = options.attentionMask;
    let count: tf.Tensor = tf.scalar(b * (p - 1));
    if (mask) {
      const real = tf.cast(mask, 'bool');
      const kept = tf.logicalAnd(tf.slice(real, [0, 0], [b, p - 1]), tf.slice(real, [0, 1], [b, p - 1]));
      picked = tf.where(kept, picked, tf.zerosLike(picked));
      count = tf.sum(tf.cast(kept, 'float32'));
    }
    if (options.perToken) return tf.neg(picked);
    return tf.neg(tf.div(tf.sum(picked), count));
  });
}
