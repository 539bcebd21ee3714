/**
 * TransformerLens's "every" bundles: several presets over the same axes, stacked along a leading
 * `act` axis. For grouped-query attention, the key and value rows cover only the key/value heads;
 * TL pads them with zeros to n_heads, lazylens with NaN, so a head that was never patched does not
 * read as "no effect".
 */
import * as tf from '@tensorflow/tfjs';
import type { ActivationCache } from '../cache/ActivationCache.js';
import { checkOptions } from '../core/checkOptions.js';
import type { ModelInput } from '../core/prepareTokens.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import type { ActPatchResult } from './ActPatchResult.js';
import {
  getActPatchAttnHeadKAllPos,
  getActPatchAttnHeadKByPos,
  getActPatchAttnHeadOutAllPos,
  getActPatchAttnHeadOutByPos,
  getActPatchAttnHeadPatternAllPos,
  getActPatchAttnHeadPatternByPos,
  getActPatchAttnHeadQAllPos,
  getActPatchAttnHeadQByPos,
  getActPatchAttnHeadVAllPos,
  getActPatchAttnHeadVByPos,
  getActPatchAttnOut,
  getActPatchMlpOut,
  getActPatchResidPre,
  type ActPatchFn,
} from './actPatchPresets.js';
import { PRESET_KEYS, type ActPatchOptions } from './genericActivationPatch.js';
import type { PatchingMetric } from './patchingMetric.js';
import { resolvePatchTarget } from './patchTarget.js';

/** The `act` labels of {@link getActPatchBlockEvery}. */
export const BLOCK_EVERY_ACTS = ['resid_pre', 'attn_out', 'mlp_out'] as const;
/** The `act` labels of the head bundles (TL's order: output, query, key, value, pattern). */
export const HEAD_EVERY_ACTS = ['output', 'query', 'key', 'value', 'pattern'] as const;

type Part = (r: ActPatchResult) => ActPatchResult;

/** Pads the head axis (the last) with NaN up to `heads` columns. */
function padHeads(heads: number): Part {
  return (r) => {
    const have = r.values.shape[r.values.rank - 1];
    if (have === heads) return r;
    const fill = tf.fill([...r.values.shape.slice(0, -1), heads - have], NaN);
    const values = tf.concat([r.values, fill], r.values.rank - 1);
    tf.dispose([r.values, fill]);
    const labels = [...r.labels.slice(0, -1), Array.from({ length: heads }, (_, i) => String(i))];
    return { values, axes: r.axes, labels };
  };
}

/** [layer, head, pos] → [layer, pos, head], as the other by-position results. */
const headsLast: Part = (r) => {
  const values = tf.transpose(r.values, [0, 2, 1]);
  r.values.dispose();
  return { values, axes: ['layer', 'pos', 'head'], labels: [r.labels[0], r.labels[2], r.labels[1]] };
};

async function every(
  where: string,
  parts: readonly (readonly [ActPatchFn, Part?])[],
  acts: readonly string[],
  args: Parameters<ActPatchFn>,
  activations: readonly string[],
): Promise<ActPatchResult> {
  checkOptions(args[4], PRESET_KEYS, where);
  // Every part's activation is checked before the first one runs (no MLP on an attention-only model).
  for (const a of activations) resolvePatchTarget(args[0], a, where);
  const done: ActPatchResult[] = [];
  try {
    for (const [fn, shape] of parts) {
      const r = await fn(...args);
      done.push(shape ? shape(r) : r);
    }
    const values = tf.stack(done.map((r) => r.values));
    return { values, axes: ['act', ...done[0].axes], labels: [[...acts], ...done[0].labels] };
  } finally {
    tf.dispose(done.map((r) => r.values));
  }
}

/**
 * Patches `resid_pre`, `attn_out` and `mlp_out` at each layer and position, stacked:
 * `[3, n_layers, pos]` (TL's `get_act_patch_block_every`). Attention-only models have no MLP
 * output, so this fails on them (use the single presets).
 * @param model the model to patch.
 * @param corruptedTokens the corrupted input (text, ids or tokens), run once per batch of patches.
 * @param cleanCache the clean run's cache: where the patched values come from.
 * @param patchingMetric the metric of each patched run's logits (one number per patch).
 * @param options batching (`patchesPerForward`) and tokenization, as the single presets.
 */
export function getActPatchBlockEvery(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: ActPatchOptions = {},
): Promise<ActPatchResult> {
  return every(
    'getActPatchBlockEvery',
    [[getActPatchResidPre], [getActPatchAttnOut], [getActPatchMlpOut]],
    BLOCK_EVERY_ACTS,
    [model, corruptedTokens, cleanCache, patchingMetric, options],
    BLOCK_EVERY_ACTS,
  );
}

/**
 * Patches each head's output, queries, keys, values and pattern at every position at once,
 * stacked: `[5, n_layers, n_heads]` (TL's `get_act_patch_attn_head_all_pos_every`).
 * @param model the model to patch.
 * @param corruptedTokens the corrupted input (text, ids or tokens), run once per batch of patches.
 * @param cleanCache the clean run's cache: where the patched values come from.
 * @param patchingMetric the metric of each patched run's logits (one number per patch).
 * @param options batching (`patchesPerForward`) and tokenization, as the single presets.
 */
export function getActPatchAttnHeadAllPosEvery(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: ActPatchOptions = {},
): Promise<ActPatchResult> {
  const pad = padHeads(model.cfg.nHeads);
  return every(
    'getActPatchAttnHeadAllPosEvery',
    [
      [getActPatchAttnHeadOutAllPos],
      [getActPatchAttnHeadQAllPos],
      [getActPatchAttnHeadKAllPos, pad],
      [getActPatchAttnHeadVAllPos, pad],
      [getActPatchAttnHeadPatternAllPos],
    ],
    HEAD_EVERY_ACTS,
    [model, corruptedTokens, cleanCache, patchingMetric, options],
    ['z', 'q', 'k', 'v', 'pattern'],
  );
}

/**
 * Patches each head's output, queries, keys, values (at each position) and pattern (each
 * destination row), stacked: `[5, n_layers, pos, n_heads]` (TL's
 * `get_act_patch_attn_head_by_pos_every`; the pattern's `[layer, head, dest_pos]` is transposed to fit).
 * @param model the model to patch.
 * @param corruptedTokens the corrupted input (text, ids or tokens), run once per batch of patches.
 * @param cleanCache the clean run's cache: where the patched values come from.
 * @param patchingMetric the metric of each patched run's logits (one number per patch).
 * @param options batching (`patchesPerForward`) and tokenization, as the single presets.
 */
export function getActPatchAttnHeadByPosEvery(
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: ActPatchOptions = {},
): Promise<ActPatchResult> {
  const pad = padHeads(model.cfg.nHeads);
  return every(
    'getActPatchAttnHeadByPosEvery',
    [
      [getActPatchAttnHeadOutByPos],
      [getActPatchAttnHeadQByPos],
      [getActPatchAttnHeadKByPos, pad],
      [getActPatchAttnHeadVByPos, pad],
      [getActPatchAttnHeadPatternByPos, headsLast],
    ],
    HEAD_EVERY_ACTS,
    [model, corruptedTokens, cleanCache, patchingMetric, options],
    ['z', 'q', 'k', 'v', 'pattern'],
  );
}
