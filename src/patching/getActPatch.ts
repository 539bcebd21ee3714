/**
 * Every patching preset by name, for callers that choose one at run time (a command line, a
 * config file): TL's Python names work too (`get_act_patch_resid_pre`).
 */
import type { ActivationCache } from '../cache/ActivationCache.js';
import type { ModelInput } from '../core/prepareTokens.js';
import { UnknownKeyError } from '../errors.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import type { ActPatchResult } from './ActPatchResult.js';
import {
  getActPatchAttnHeadAllPosEvery,
  getActPatchAttnHeadByPosEvery,
  getActPatchBlockEvery,
} from './actPatchEvery.js';
import * as presets from './actPatchPresets.js';
import type { ActPatchFn } from './actPatchPresets.js';
import type { ActPatchOptions } from './genericActivationPatch.js';
import type { PatchingMetric } from './patchingMetric.js';

const EVERY: Readonly<Record<string, ActPatchFn>> = {
  getActPatchBlockEvery,
  getActPatchAttnHeadAllPosEvery,
  getActPatchAttnHeadByPosEvery,
};

const BY_NAME: Readonly<Record<string, ActPatchFn>> = {
  ...Object.fromEntries(
    Object.keys(presets.ACT_PATCH_PRESETS).map((name) => [
      name,
      (presets as unknown as Record<string, ActPatchFn>)[name],
    ]),
  ),
  ...EVERY,
};

/** Every preset name {@link getActPatch} accepts (camelCase). */
export const ACT_PATCH_NAMES: readonly string[] = Object.freeze(Object.keys(BY_NAME));

/** `get_act_patch_resid_pre` → `getActPatchResidPre`; camelCase names are returned as they are. */
function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Runs the preset called `name` (`'getActPatchResidPre'`, `'getActPatchBlockEvery'`, … or TL's
 * `'get_act_patch_resid_pre'`).
 * @param name the preset's name, camelCased or TL's snake_case; an unknown name suggests the nearest.
 * @param model the model to patch.
 * @param corruptedTokens the corrupted input (text, ids or tokens), run once per batch of patches.
 * @param cleanCache the clean run's cache: where the patched values come from.
 * @param patchingMetric the metric of each patched run's logits (one number per patch).
 * @param options batching (`patchesPerForward`) and tokenization, as the single presets.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { cache, logits } = await model.runWithCache('cat dog ant cat dog');
 * const metric = logitDiffMetric(model.toSingleToken('ant'), model.toSingleToken('sun'));
 * const corrupt = 'man boy sun cat dog';
 * const r = await getActPatch('get_act_patch_attn_head_out_all_pos', model, corrupt, cache, metric);
 * r.axes;   // ['layer', 'head']
 * r.values.dispose(); logits.dispose(); cache.dispose(); model.dispose();
 * ```
 * @throws UnknownKeyError for a name that is no preset, with the nearest names.
 */
export async function getActPatch(
  name: string,
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options: ActPatchOptions = {},
): Promise<ActPatchResult> {
  const fn = typeof name === 'string' ? BY_NAME[camel(name)] : undefined;
  if (!fn || !Object.hasOwn(BY_NAME, camel(name)))
    throw new UnknownKeyError(String(name), ACT_PATCH_NAMES, 'patching preset');
  return await fn(model, corruptedTokens, cleanCache, patchingMetric, options);
}
