/** The language-modelling loss `forward({ returnType: 'loss' })` returns. */
import * as tf from '@tensorflow/tfjs';
import { TokenError } from '../errors.js';

/** Mean cross-entropy of predicting token t+1 from position t (TransformerLens's lm_cross_entropy_loss). */
export function lmCrossEntropy(logits: tf.Tensor, tokens: tf.Tensor): tf.Scalar {
  const [b, p, v] = logits.shape;
  if (p < 2) throw new TokenError(`The loss needs at least 2 tokens per sequence; given ${p}.`);
  const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [b, p - 1, v]));
  const targets = tf.slice(tokens, [0, 1], [b, p - 1]);
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.cast(targets, 'int32'), v)), -1);
  return tf.neg(tf.mean(picked));
}
