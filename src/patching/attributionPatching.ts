/**
 * Attribution patching: the first-order (linear) estimate of what activation patching would
 * measure, for every layer × position (and head) at once, from one clean run, one corrupted run and
 * one backward pass. Patching an activation of the corrupted run with its clean value changes the
 * metric by about (clean − corrupt) · ∂metric/∂activation, the gradient taken on the corrupted run;
 * the estimate is exact for a metric linear in the activation and degrades where attention
 * patterns or norms react strongly to the patch.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import type { ModelInput } from '../core/prepareTokens.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';

/** The activations attribution patching scores. */
export type AttributionActivation = 'resid_pre' | 'attn_out' | 'mlp_out' | 'z';

/** Options of {@link attributionPatching}. */
export interface AttributionPatchingOptions {
  /** Which activations to score; default every one the model has (attention-only models have no `mlp_out`). */
  activations?: readonly AttributionActivation[];
  /** Prepend BOS to string inputs (the model's default otherwise). */
  prependBos?: boolean;
}

const OPTION_KEYS = {
  activations: true,
  prependBos: true,
} as const satisfies OptionKeys<AttributionPatchingOptions>;

/** A tensor with a name and labels for each of its dims. */
export interface LabelledScores {
  /** The estimates, owned by the caller. */
  values: tf.Tensor;
  /** The dims' names, e.g. `['layer', 'pos']`. */
  dims: readonly string[];
  /** One label per index of each dim, e.g. `['L0', 'L1']` for `layer`. */
  labels: readonly (readonly string[])[];
}

/** What {@link attributionPatching} returns; the caller disposes it with `dispose()`. */
export interface AttributionResult {
  /** The metric on the clean input. */
  cleanMetric: number;
  /** The metric on the corrupted input (the baseline every estimate is a change from). */
  corruptMetric: number;
  /** `resid_pre`, `[layer, pos]`: patching the whole residual stream at one position before one block. */
  residPre?: LabelledScores;
  /** `attn_out`, `[layer, pos]`. */
  attnOut?: LabelledScores;
  /** `mlp_out`, `[layer, pos]` (absent for attention-only models). */
  mlpOut?: LabelledScores;
  /** `z` by position, `[layer, pos, head]`: one head's output at one position (summed over d_head). */
  z?: LabelledScores;
  /** `z` at every position at once, `[layer, head]` (the by-position scores summed over positions). */
  zAllPos?: LabelledScores;
  /** Frees every tensor above. */
  dispose(): void;
}

const HOOK: Record<AttributionActivation, (layer: number) => string> = {
  resid_pre: (l) => `blocks.${l}.hook_resid_pre`,
  attn_out: (l) => `blocks.${l}.hook_attn_out`,
  mlp_out: (l) => `blocks.${l}.hook_mlp_out`,
  z: (l) => `blocks.${l}.attn.hook_z`,
};

/**
 * Estimates, for every layer and position (and head for `z`), how much patching the corrupted
 * run's activation with the clean one would change `metric`: (clean − corrupt) · gradient of the
 * metric on the corrupted run, summed over d_model (or d_head) and the batch. Lasting hooks on the
 * model apply to both runs.
 * @param model the model.
 * @param clean the clean input.
 * @param corrupt the corrupted input; it must tokenize to the clean input's shape.
 * @param metric a scalar function of the logits (e.g. a logit difference).
 * @param options which activations, and BOS for strings.
 * @returns labelled estimates and both runs' metrics; call `dispose()` when done.
 * @throws ShapeError when the clean and corrupted runs' activations differ in shape.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const words = [10, 20, 30, 40, 50];
 * // BOS, the words, their repeat: 50 comes next
 * const clean = [[355, ...words, 10, 20, 30, 40]];
 * const corrupt = [[355, 11, 21, 31, 41, 51, 10, 20, 30, 40]];
 * // logit(50) − logit(51) at the last position (tf.slice: tf.gather's gradient is missing on wasm)
 * const ld = (logits: tf.Tensor) =>
 *   tf.tidy(() => {
 *     const last = logits.shape[1]! - 1;
 *     const at = (id: number) => tf.slice(logits, [0, last, id], [1, 1, 1]).reshape([]);
 *     return tf.sub(at(50), at(51));
 *   });
 * const attr = await attributionPatching(model, clean, corrupt, ld);
 * attr.residPre!.dims;                  // ['layer', 'pos']
 * await attr.zAllPos!.values.array();   // [layer][head]: the layer-1 induction heads stand out
 * attr.dispose(); model.dispose();
 * ```
 */
export async function attributionPatching(
  model: HookedTransformer,
  clean: ModelInput,
  corrupt: ModelInput,
  metric: (logits: tf.Tensor) => tf.Tensor,
  options: AttributionPatchingOptions = {},
): Promise<AttributionResult> {
  checkOptions(options, OPTION_KEYS, 'attributionPatching');
  if (typeof metric !== 'function') {
    throw new InvalidArgumentError(
      `attributionPatching: metric given as ${typeof metric}; expected a function of the logits returning a scalar.`,
    );
  }
  const known = new Set(model.hookNames);
  const wanted = options.activations ?? (['resid_pre', 'attn_out', 'mlp_out', 'z'] as const);
  for (const a of wanted) {
    if (!Object.hasOwn(HOOK, a)) {
      throw new InvalidArgumentError(
        `attributionPatching: activation '${String(a)}' given; expected 'resid_pre', 'attn_out', 'mlp_out' or 'z'.`,
      );
    }
  }
  // An activation the model lacks is left out unless it was asked for by name.
  const kinds = wanted.filter((a) => known.has(HOOK[a](0)));
  if (options.activations) {
    const missing = options.activations.filter((a) => !known.has(HOOK[a](0)));
    if (missing.length > 0) {
      throw new InvalidArgumentError(
        `attributionPatching: this model has no '${missing[0]}' hook point (${model.cfg.attnOnly ? 'attention-only' : model.cfg.modelName}).`,
      );
    }
  }
  const nLayers = model.cfg.nLayers;
  const names = kinds.flatMap((k) => Array.from({ length: nLayers }, (_, l) => HOOK[k](l)));
  const run = { namesFilter: names, prependBos: options.prependBos };
  const cleanRun = await model.runWithCache(clean, run);
  try {
    const corruptRun = await model.runWithCache(corrupt, { ...run, inclBwd: true, metric });
    try {
      const cleanMetric = await scalarOf(cleanRun.logits, metric);
      const corruptMetric = await scalarOf(corruptRun.logits, metric);
      const result: AttributionResult = { cleanMetric, corruptMetric, dispose: () => undefined };
      const owned: tf.Tensor[] = [];
      result.dispose = () => tf.dispose(owned);
      try {
        for (const kind of kinds) {
          const perLayer = Array.from({ length: nLayers }, (_, l) => {
            const name = HOOK[kind](l);
            const c = cleanRun.cache.get(name);
            const x = corruptRun.cache.get(name);
            if (c.shape.join() !== x.shape.join()) {
              throw new ShapeError(
                `attributionPatching: ${name} is [${c.shape.join(', ')}] on the clean input and [${x.shape.join(', ')}] on the corrupted one; expected the same shape (inputs of equal length).`,
              );
            }
            // No gradient is stored where the metric does not depend on the activation: zero.
            const g = corruptRun.cache.has(`${name}_grad`) ? corruptRun.cache.get(`${name}_grad`) : undefined;
            return { c, x, g };
          });
          const values = tf.tidy(() =>
            tf.stack(perLayer.map(({ c, x, g }) => attribution(c, x, g, kind === 'z' ? 3 : 2))),
          );
          owned.push(values);
          const [, pos] = perLayer[0].x.shape;
          const layers = Array.from({ length: nLayers }, (_, l) => `L${l}`);
          const positions = Array.from({ length: pos }, (_, p) => `pos${p}`);
          if (kind === 'z') {
            const heads = Array.from({ length: model.cfg.nHeads }, (_, h) => `H${h}`);
            result.z = { values, dims: ['layer', 'pos', 'head'], labels: [layers, positions, heads] };
            const allPos = tf.sum(values, 1);
            owned.push(allPos);
            result.zAllPos = { values: allPos, dims: ['layer', 'head'], labels: [layers, heads] };
          } else {
            const scores = { values, dims: ['layer', 'pos'], labels: [layers, positions] };
            if (kind === 'resid_pre') result.residPre = scores;
            else if (kind === 'attn_out') result.attnOut = scores;
            else result.mlpOut = scores;
          }
        }
      } catch (e) {
        result.dispose();
        throw e;
      }
      return result;
    } finally {
      corruptRun.logits.dispose();
      corruptRun.cache.dispose();
    }
  } finally {
    cleanRun.logits.dispose();
    cleanRun.cache.dispose();
  }
}

/**
 * (clean − corrupt) · grad summed over the batch and the feature dim: [b, p, d] → [p] (`rank` 2),
 * or [b, p, h, dh] → [p, h] (`rank` 3).
 */
function attribution(c: tf.Tensor, x: tf.Tensor, g: tf.Tensor | undefined, rank: 2 | 3): tf.Tensor {
  if (!g) return tf.zeros(x.shape.slice(1, rank === 2 ? 2 : 3));
  return tf.sum(tf.mul(tf.sub(c, x), g), rank === 2 ? [0, 2] : [0, 3]);
}

async function scalarOf(logits: tf.Tensor, metric: (logits: tf.Tensor) => tf.Tensor): Promise<number> {
  const m = tf.tidy(() => metric(logits));
  try {
    return (await m.data())[0];
  } finally {
    m.dispose();
  }
}
