/**
 * The metric most patching experiments use: the logit of the right answer minus the logit of the
 * wrong one at the last position, averaged over the batch (TL's `logits_to_ave_logit_diff`).
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';
import type { PatchingMetric } from './patchingMetric.js';

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0) {
    throw new InvalidArgumentError(
      `logitDiffMetric: ${what} ${String(id)} given; expected a token id (an integer ≥ 0).`,
    );
  }
}

/**
 * A {@link PatchingMetric}: `logits[:, -1, answer] - logits[:, -1, wrong]`, the mean over the batch.
 * With `normalize`, the result is rescaled so the corrupted run scores 0 and the clean run 1 (the
 * fraction of the logit difference a patch restores).
 * @param answer the right answer's token id.
 * @param wrong the wrong answer's token id.
 * @param normalize the clean and corrupted runs' logit differences.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const metric = logitDiffMetric(model.toSingleToken('ant'), model.toSingleToken('sun'));
 * const logits = await model.forward('cat dog ant cat dog');
 * const diff = tf.tidy(() => metric(logits) as tf.Tensor);   // logit(ant) − logit(sun), about 9
 * tf.dispose([logits, diff]); model.dispose();
 * ```
 */
export function logitDiffMetric(
  answer: number,
  wrong: number,
  normalize?: { clean: number; corrupt: number },
): PatchingMetric {
  checkId(answer, 'answer');
  checkId(wrong, 'wrong');
  if (
    normalize &&
    !(normalize.clean !== normalize.corrupt && Number.isFinite(normalize.clean - normalize.corrupt))
  ) {
    throw new InvalidArgumentError(
      `logitDiffMetric: normalize given clean ${normalize.clean} and corrupt ${normalize.corrupt}; expected two different finite numbers.`,
    );
  }
  return (logits) => {
    const [, pos = 0, vocab = 0] = logits.shape;
    if (logits.rank !== 3 || answer >= vocab || wrong >= vocab) {
      throw new InvalidArgumentError(
        `logitDiffMetric: logits of shape [${logits.shape.join(', ')}] given; expected [batch, pos, d_vocab] with d_vocab > ${Math.max(answer, wrong)}.`,
      );
    }
    const last = pos - 1;
    const diff = tf.mean(
      tf.sub(logits.slice([0, last, answer], [-1, 1, 1]), logits.slice([0, last, wrong], [-1, 1, 1])),
    );
    if (!normalize) return diff;
    return tf.div(tf.sub(diff, normalize.corrupt), normalize.clean - normalize.corrupt);
  };
}
