/**
 * One forward pass that carries several patches. The corrupted tokens are repeated once per patch
 * along the batch; at each layer a patch touches, one hook swaps in the clean activation where a
 * boolean mask says so. The mask has a row per patch and is true only on that patch's slice
 * (its position, head, …), so rows never see each other's patches and patches at different layers
 * can share a pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import type { HookFn } from '../model/hooks.js';
import type { AxisPlan } from './patchAxes.js';
import { evaluateMetric, type PatchingMetric } from './patchingMetric.js';

/** Everything that stays the same across the batches of one patching run. */
export interface PatchRun {
  model: HookedTransformer;
  /** The hook point patched at each layer. */
  names: readonly string[];
  plans: readonly AxisPlan[];
  /** The corrupted tokens [batch][pos]. */
  ids: readonly (readonly number[])[];
  /** Per layer, the clean activation with a leading axis of 1: [1, batch, ...]; only layers patched. */
  clean: ReadonlyMap<number, tf.Tensor>;
  metric: PatchingMetric;
  where: string;
}

/**
 * A boolean mask [patches, 1, ...] over the activation: row r is true on the slice `indices[r]`
 * selects, for the rows listed in `rows`; dims no axis selects have size 1 (they broadcast).
 */
function patchMask(
  run: PatchRun,
  indices: readonly (readonly number[])[],
  rows: readonly number[],
  activation: readonly number[],
): tf.Tensor {
  const selected = new Set(run.plans.flatMap((p) => (p.dim === undefined ? [] : [p.dim])));
  // Activation dim d (batch is 0) sits at mask axis d + 1, after the patch axis.
  const shape = [
    indices.length,
    1,
    ...activation.slice(1).map((size, j) => (selected.has(j + 1) ? size : 1)),
  ];
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const data = new Uint8Array(shape.reduce((a, b) => a * b, 1));
  for (const r of rows) {
    let at = r * strides[0];
    run.plans.forEach((p, k) => {
      if (p.dim !== undefined) at += indices[r][k] * strides[p.dim + 1];
    });
    data[at] = 1;
  }
  return tf.tensor(data, shape, 'bool');
}

/**
 * Runs the patches `indices` (each a tuple in the order of `run.plans`) in one forward pass and
 * returns the metric of each.
 */
export async function runPatchBatch(
  run: PatchRun,
  indices: readonly (readonly number[])[],
): Promise<number[]> {
  const n = indices.length;
  const batch = run.ids.length;
  const layerAxis = run.plans.findIndex((p) => p.axis === 'layer');
  const rowsAt = new Map<number, number[]>();
  indices.forEach((index, r) => {
    const layer = index[layerAxis];
    rowsAt.set(layer, [...(rowsAt.get(layer) ?? []), r]);
  });
  const masks: tf.Tensor[] = [];
  try {
    const hooks: [string, HookFn][] = [];
    for (const [layer, rows] of rowsAt) {
      const clean = run.clean.get(layer) as tf.Tensor;
      const mask = patchMask(run, indices, rows, clean.shape.slice(1));
      masks.push(mask);
      hooks.push([
        run.names[layer],
        // Runs inside the forward's tidy, which frees the intermediates.
        (act) => {
          const full = [n, ...clean.shape.slice(1)];
          const patched = tf.where(
            tf.broadcastTo(mask, full),
            tf.broadcastTo(clean, full),
            tf.reshape(act, full),
          );
          return tf.reshape(patched, act.shape);
        },
      ]);
    }
    const repeat = <T>(rows: readonly T[]): T[] => Array.from({ length: n }, () => rows).flat();
    const logits = await run.model.runWithHooks(repeat(run.ids), { fwdHooks: hooks });
    try {
      return await evaluateMetric(logits, n, batch, run.metric, run.where);
    } finally {
      logits.dispose();
    }
  } finally {
    tf.dispose(masks);
  }
}
