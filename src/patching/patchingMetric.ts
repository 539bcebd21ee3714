/**
 * The metric contract of every patching helper, and its evaluation on a batched run.
 *
 * Several patches share one forward pass: the corrupted tokens are repeated along the batch, one
 * copy per patch. The metric is still called once per patch, on that patch's own logits
 * `[batch, pos, d_vocab]` (the corrupted input's batch, exactly what TL's `patching_metric` sees),
 * and returns one number for it. So any TL-style metric works unchanged, and a metric that sees
 * several patches at once never has to know how they were packed.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError } from '../errors.js';

/**
 * Turns the logits of one patched run, `[batch, pos, d_vocab]` (the corrupted input's batch),
 * into one number: a `number` or a tensor holding a single value (`[]` or `[1]`). It runs inside
 * `tf.tidy`, so intermediate tensors need no disposing; the returned tensor is read and freed by
 * the helper (a tensor the metric did not make is left alone).
 * @example
 * ```ts
 * // the mean logit difference at the last position, over the batch
 * const [answer, wrong] = [3, 5];
 * const metric: PatchingMetric = (logits) => {
 *   const last = logits.shape[1] - 1;
 *   const at = (id: number) => logits.slice([0, last, id], [-1, 1, 1]);
 *   return tf.mean(tf.sub(at(answer), at(wrong)));
 * };
 * const value = tf.tidy(() => metric(tf.ones([2, 4, 8])) as tf.Tensor);   // 0
 * value.dispose();
 * ```
 */
export type PatchingMetric = (logits: tf.Tensor) => tf.Tensor | number;

/** One patch's metric as a number or a fresh float32 scalar, checked. */
function scalarOf(value: unknown, where: string): number | tf.Tensor {
  if (typeof value === 'number') return value;
  if (value instanceof tf.Tensor) {
    const t = value as tf.Tensor;
    if (t.size !== 1) {
      throw new InvalidArgumentError(
        `${where}: the metric returned a tensor of shape [${t.shape.join(', ')}]; expected one value per patch (shape [] or [1]): it gets one patch's logits [batch, pos, d_vocab], so reduce them to a scalar (e.g. the mean logit difference over the batch).`,
      );
    }
    // A new tensor made inside the tidy: freeing it never frees one the metric holds elsewhere.
    return tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), []);
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new InvalidArgumentError(
    `${where}: the metric returned ${kind}; expected a number or a scalar tf.Tensor for each patch.`,
  );
}

/**
 * Calls `metric` on each patch's rows of `logits` ([patches × batch, pos, d_vocab], patch-major)
 * and reads all the values back at once. `logits` stays owned by the caller.
 */
export async function evaluateMetric(
  logits: tf.Tensor,
  patches: number,
  batch: number,
  metric: PatchingMetric,
  where: string,
): Promise<number[]> {
  const results: (number | tf.Tensor)[] = [];
  try {
    for (let p = 0; p < patches; p++) {
      results.push(
        tf.tidy(() => {
          const rows = patches === 1 ? logits : logits.slice([p * batch], [batch]);
          return scalarOf(metric(rows), where);
        }),
      );
    }
    const tensors = results.filter((r): r is tf.Tensor => r instanceof tf.Tensor);
    const read = tensors.length ? await readAll(tensors) : [];
    let next = 0;
    return results.map((r) => (typeof r === 'number' ? r : read[next++]));
  } finally {
    tf.dispose(results.filter((r): r is tf.Tensor => r instanceof tf.Tensor));
  }
}

async function readAll(scalars: tf.Tensor[]): Promise<number[]> {
  const stacked = tf.stack(scalars);
  try {
    return Array.from(await stacked.data());
  } finally {
    stacked.dispose();
  }
}
