/**
 * TransformerLens's `generic_activation_patch`: run the corrupted input once per index (layer ×
 * position, layer × head, …), each time with the clean run's activation patched in at that index,
 * and record a metric of the logits. The named presets (`getActPatchResidPre`, …) are this with a
 * fixed activation and axes.
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationCache } from '../cache/ActivationCache.js';
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import { hookShape } from '../core/hookPoints.js';
import { prepareTokens, type ModelInput } from '../core/prepareTokens.js';
import { InvalidArgumentError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import type { ActPatchResult } from './ActPatchResult.js';
import { planAxes, type AxisPlan } from './patchAxes.js';
import { runPatchBatch } from './patchBatch.js';
import type { PatchingMetric } from './patchingMetric.js';
import { resolvePatchTarget } from './patchTarget.js';

/** Options every patching helper takes. */
export interface ActPatchOptions {
  /**
   * How many patches share one forward pass (the corrupted batch repeated that many times).
   * Default: as many as fit about 256 MB of activations, at most 64.
   */
  patchesPerForward?: number;
  /** Prepend BOS to a text input (default `cfg.defaultPrependBos`), as `runWithCache` did for the clean run. */
  prependBos?: boolean;
  /** Called after each forward pass with the patches done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of {@link genericActivationPatch}: what to patch, over which axes or at which indices. */
export interface GenericActivationPatchOptions extends ActPatchOptions {
  /** TL's short activation name, resolved per layer by `getActName`: `'resid_pre'`, `'z'`, `'pattern'`, … */
  activationName: string;
  /**
   * The axes to iterate over, in output order (TL's `index_axis_names`): `'layer'` (required) and
   * any of `'pos'`, `'head'` (alias `'head_index'`), `'dest_pos'`, `'src_pos'` that the activation has.
   * Every combination is patched; `values` has these axes.
   */
  indexAxisNames: readonly string[];
  /**
   * Patch only these indices (TL's `index_df`): rows of numbers, one per entry of `indexAxisNames`.
   * `values` is then flat, `[indices.length]`, with axis `'patch'`.
   */
  indices?: readonly (readonly number[])[];
}

const ACT_PATCH_KEYS = {
  patchesPerForward: true,
  prependBos: true,
  onProgress: true,
} as const satisfies OptionKeys<ActPatchOptions>;

/** The keys the presets accept. */
export const PRESET_KEYS: Readonly<Record<string, true>> = ACT_PATCH_KEYS;

const GENERIC_KEYS = {
  ...ACT_PATCH_KEYS,
  activationName: true,
  indexAxisNames: true,
  indices: true,
} as const satisfies OptionKeys<GenericActivationPatchOptions>;

/** Bytes of activations a batched pass may hold by default (float32), and the cap on patches per pass. */
const DEFAULT_BUDGET_BYTES = 256 * 2 ** 20;
const MAX_DEFAULT_PATCHES = 64;

/**
 * How many patches fit one pass: each copy of the corrupted batch holds every hook point's
 * activation and the logits; the forward keeps them until it ends, and about as much again in
 * intermediates, hence the factor 2.
 */
export function defaultPatchesPerForward(model: HookedTransformer, batch: number, pos: number): number {
  let floats = pos * model.cfg.dVocabOut;
  for (const name of model.hookNames) floats += hookShape(model.cfg, name, 1, pos).reduce((a, b) => a * b, 1);
  const perCopy = 2 * 4 * floats * batch;
  return Math.max(1, Math.min(MAX_DEFAULT_PATCHES, Math.floor(DEFAULT_BUDGET_BYTES / perCopy)));
}

/** Every index tuple over `sizes`, the last axis fastest (row-major, as the output tensor). */
function allIndices(sizes: readonly number[]): number[][] {
  let out: number[][] = [[]];
  for (const size of sizes) out = out.flatMap((head) => Array.from({ length: size }, (_, i) => [...head, i]));
  return out;
}

function checkIndices(
  indices: readonly (readonly number[])[],
  axes: readonly string[],
  sizes: readonly number[],
  where: string,
): void {
  if (!Array.isArray(indices) || indices.length === 0) {
    throw new InvalidArgumentError(
      `${where}: indices given as ${JSON.stringify(indices)}; expected a non-empty list of rows.`,
    );
  }
  indices.forEach((row, r) => {
    const ok =
      Array.isArray(row) &&
      row.length === axes.length &&
      row.every((v, k) => Number.isInteger(v) && v >= 0 && v < sizes[k]);
    if (!ok) {
      const want = axes.map((a, k) => `${a} in [0, ${sizes[k]})`).join(', ');
      throw new InvalidArgumentError(
        `${where}: indices[${r}] is ${JSON.stringify(row)}; expected [${want}].`,
      );
    }
  });
}

/** The corrupted input as host rows of token ids (texts padded on the right, as the clean run). */
async function corruptedRows(
  model: HookedTransformer,
  input: ModelInput,
  prependBos: boolean | undefined,
): Promise<number[][]> {
  const prepared = await prepareTokens(
    input,
    model.cfg,
    model.tokenizer,
    prependBos === undefined ? {} : { prependBos },
  );
  try {
    return await prepared.tokens.array();
  } finally {
    prepared.dispose();
  }
}

/**
 * The clean activation at `name` as [1, batch, ...], checked against the shape the corrupted input
 * gives there. The caller disposes it.
 */
function cleanActivation(
  model: HookedTransformer,
  cache: ActivationCache,
  name: string,
  batch: number,
  pos: number,
  where: string,
): tf.Tensor {
  if (!cache.has(name)) {
    throw new InvalidArgumentError(
      `${where}: the clean cache has no '${name}'; expected a cache from runWithCache on the clean input that keeps it (check its namesFilter).`,
    );
  }
  const stored = cache.get(name);
  const given = cache.hasBatchDim ? stored.shape : [1, ...stored.shape];
  const want = hookShape(model.cfg, name, batch, pos);
  if (given.join() !== want.join()) {
    throw new InvalidArgumentError(
      `${where}: the clean cache's ${name} has shape [${given.join(', ')}]; expected [${want.join(', ')}] as the corrupted input (batch ${batch}, ${pos} positions): the clean and corrupted inputs must have the same batch size and number of tokens.`,
    );
  }
  return tf.reshape(stored, [1, ...want]);
}

function labelsFor(model: HookedTransformer, plan: AxisPlan, size: number, ids: readonly number[]): string[] {
  if (plan.axis === 'layer' || plan.axis === 'head' || plan.axis === 'head_index')
    return Array.from({ length: size }, (_, i) => String(i));
  return model.tokenizer ? model.toStrTokens(ids) : ids.map(String);
}

/**
 * Activation patching over any activation and axes (TransformerLens's `generic_activation_patch`).
 * For each index, the corrupted input runs with the clean cache's activation copied in at that
 * index only, and `patchingMetric` reads the patched logits. Several patches share a forward pass
 * (see `patchesPerForward`); the metric is still called once per patch, on that patch's logits
 * `[batch, pos, d_vocab]` (see {@link PatchingMetric}).
 * @param model the model both inputs ran through.
 * @param corruptedTokens the corrupted input: text, ids or a tensor, as `runWithHooks` takes.
 * @param cleanCache `runWithCache` on the clean input (same batch and length), keeping the patched activation.
 * @param patchingMetric one number per patched run.
 * @param options the activation, the axes (or explicit indices) and batching.
 * @returns the metric per index, labelled; the caller disposes `values`.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { cache, logits } = await model.runWithCache('cat dog ant cat dog');
 * const metric = logitDiffMetric(model.toSingleToken('ant'), model.toSingleToken('sun'));
 * const r = await genericActivationPatch(model, 'man boy sun cat dog', cache, metric, {
 *   activationName: 'z',
 *   indexAxisNames: ['layer', 'head'],
 * });
 * r.values.shape;  // [2, 4]: [n_layers, n_heads]
 * r.values.dispose(); logits.dispose(); cache.dispose(); model.dispose();
 * ```
 * @throws InvalidArgumentError when the clean cache lacks the activation or its shape differs from
 *   the corrupted run's, for axes the activation does not have, and for a metric that is not a scalar.
 * @throws UnknownKeyError for an unknown activation or axis name, with the nearest names.
 */
export async function genericActivationPatch(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: GenericActivationPatchOptions,
): Promise<ActPatchResult> {
  return activationPatch(
    model,
    corruptedTokens,
    cleanCache,
    patchingMetric,
    options,
    'genericActivationPatch',
  );
}

/** {@link genericActivationPatch}, naming `where` in its errors (a preset's name). */
export async function activationPatch(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: GenericActivationPatchOptions,
  where: string,
): Promise<ActPatchResult> {
  checkOptions(options, GENERIC_KEYS, where);
  if (typeof patchingMetric !== 'function') {
    throw new InvalidArgumentError(
      `${where}: patchingMetric given as ${typeof patchingMetric}; expected a function from logits [batch, pos, d_vocab] to a number.`,
    );
  }
  const target = resolvePatchTarget(model, options.activationName, where);
  const plans = planAxes(options.indexAxisNames, target.dims, options.activationName, where);
  const ids = await corruptedRows(model, corruptedTokens, options.prependBos);
  const [batch, pos] = [ids.length, ids[0].length];
  const actShape = hookShape(model.cfg, target.names[0], batch, pos);
  const sizes = plans.map((p) => (p.dim === undefined ? model.cfg.nLayers : actShape[p.dim]));
  const axes = plans.map((p) => p.axis as string);
  let indices: readonly (readonly number[])[];
  if (options.indices !== undefined) {
    checkIndices(options.indices, axes, sizes, where);
    indices = options.indices;
  } else indices = allIndices(sizes);
  const perForward = options.patchesPerForward ?? defaultPatchesPerForward(model, batch, pos);
  if (!Number.isInteger(perForward) || perForward < 1) {
    throw new InvalidArgumentError(
      `${where}: patchesPerForward ${perForward} given; expected an integer ≥ 1.`,
    );
  }

  const layerAxis = plans.findIndex((p) => p.axis === 'layer');
  const clean = new Map<number, tf.Tensor>();
  try {
    for (const layer of new Set(indices.map((i) => i[layerAxis]))) {
      clean.set(layer, cleanActivation(model, cleanCache, target.names[layer], batch, pos, where));
    }
    const run = { model, names: target.names, plans, ids, clean, metric: patchingMetric, where };
    const values = new Float32Array(indices.length);
    for (let start = 0; start < indices.length; start += perForward) {
      const chunk = indices.slice(start, start + perForward);
      values.set(await runPatchBatch(run, chunk), start);
      options.onProgress?.(start + chunk.length, indices.length);
    }
    if (options.indices !== undefined) {
      const labels = indices.map((row) => row.map((v, k) => `${axes[k]} ${v}`).join(', '));
      return { values: tf.tensor1d(values), axes: ['patch'], labels: [labels] };
    }
    return {
      values: tf.tensor(values, sizes),
      axes,
      labels: plans.map((p, k) => labelsFor(model, p, sizes[k], ids[0])),
    };
  } finally {
    tf.dispose([...clean.values()]);
  }
}
