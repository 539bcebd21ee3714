/**
 * What every patching helper returns: the metric of each patched run in a tensor with one dim per
 * index axis, and the names and labels of those axes, so a table or heatmap can say what each
 * cell patched without knowing which helper made it.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * The metric of each patched run, labelled. `values` has one dim per entry of `axes` (TL's output
 * tensor, e.g. `[n_layers, pos]` for `getActPatchResidPre`), or one dim `['patch']` for a run over
 * an explicit list of indices. The caller owns `values` and disposes it.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { cache, logits } = await model.runWithCache('cat dog ant cat dog');
 * const metric = logitDiffMetric(model.toSingleToken('ant'), model.toSingleToken('sun'));
 * const r = await getActPatchResidPre(model, 'man boy sun cat dog', cache, metric);
 * r.axes;                  // ['layer', 'pos']
 * r.labels[1];             // ['<|endoftext|>', 'man', 'boy', 'sun', 'cat', 'dog']
 * await r.values.array();  // [n_layers][pos]: the logit difference after each patch
 * r.values.dispose(); logits.dispose(); cache.dispose(); model.dispose();
 * ```
 */
export interface ActPatchResult {
  /** The metric after each patch; the caller disposes it. */
  values: tf.Tensor;
  /** The name of each dim of `values` (`'layer'`, `'pos'`, `'head'`, `'dest_pos'`, `'act'`, `'patch'`, …). */
  axes: string[];
  /**
   * One label per entry along each axis: layer and head numbers as text, the corrupted prompt's
   * tokens for positions, activation names for the `act` axis of the "every" bundles.
   */
  labels: string[][];
}
