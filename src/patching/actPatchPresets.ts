/**
 * TransformerLens's named patching functions (`get_act_patch_resid_pre`, …), camelCased: each is
 * {@link genericActivationPatch} with a fixed activation and axes. The shapes are TL's.
 */
import type { ActivationCache } from '../cache/ActivationCache.js';
import { checkOptions } from '../core/checkOptions.js';
import type { ModelInput } from '../core/prepareTokens.js';
import type { HookedTransformer } from '../model/HookedTransformer.js';
import type { ActPatchResult } from './ActPatchResult.js';
import { activationPatch, PRESET_KEYS, type ActPatchOptions } from './genericActivationPatch.js';
import type { PatchingMetric } from './patchingMetric.js';

/** The signature every preset shares (TL's `(model, corrupted_tokens, clean_cache, patching_metric)`). */
export type ActPatchFn = (
  model: HookedTransformer,
  corruptedTokens: ModelInput,
  cleanCache: ActivationCache,
  patchingMetric: PatchingMetric,
  options?: ActPatchOptions,
) => Promise<ActPatchResult>;

/** What a preset patches: TL's activation name and index axes. */
export interface ActPatchPreset {
  /** The activation patched, as `getActName` takes it (`'resid_pre'`, `'z'`, `'pattern'`, …). */
  readonly activationName: string;
  /** The axes iterated, one patch per index (`'layer'`, `'pos'`, `'head'`, `'head_index'`, …). */
  readonly indexAxisNames: readonly string[];
}

/** The name of a single-activation preset (the table below must have exactly these). */
export type ActPatchPresetName =
  | 'getActPatchResidPre'
  | 'getActPatchResidMid'
  | 'getActPatchAttnOut'
  | 'getActPatchMlpOut'
  | 'getActPatchAttnHeadOutByPos'
  | 'getActPatchAttnHeadQByPos'
  | 'getActPatchAttnHeadKByPos'
  | 'getActPatchAttnHeadVByPos'
  | 'getActPatchAttnHeadPatternByPos'
  | 'getActPatchAttnHeadPatternDestSrcPos'
  | 'getActPatchAttnHeadOutAllPos'
  | 'getActPatchAttnHeadQAllPos'
  | 'getActPatchAttnHeadKAllPos'
  | 'getActPatchAttnHeadVAllPos'
  | 'getActPatchAttnHeadPatternAllPos';

const PRESET_TABLE = {
  getActPatchResidPre: { activationName: 'resid_pre', indexAxisNames: ['layer', 'pos'] },
  getActPatchResidMid: { activationName: 'resid_mid', indexAxisNames: ['layer', 'pos'] },
  getActPatchAttnOut: { activationName: 'attn_out', indexAxisNames: ['layer', 'pos'] },
  getActPatchMlpOut: { activationName: 'mlp_out', indexAxisNames: ['layer', 'pos'] },
  getActPatchAttnHeadOutByPos: { activationName: 'z', indexAxisNames: ['layer', 'pos', 'head'] },
  getActPatchAttnHeadQByPos: { activationName: 'q', indexAxisNames: ['layer', 'pos', 'head'] },
  getActPatchAttnHeadKByPos: { activationName: 'k', indexAxisNames: ['layer', 'pos', 'head'] },
  getActPatchAttnHeadVByPos: { activationName: 'v', indexAxisNames: ['layer', 'pos', 'head'] },
  getActPatchAttnHeadPatternByPos: {
    activationName: 'pattern',
    indexAxisNames: ['layer', 'head_index', 'dest_pos'],
  },
  getActPatchAttnHeadPatternDestSrcPos: {
    activationName: 'pattern',
    indexAxisNames: ['layer', 'head_index', 'dest_pos', 'src_pos'],
  },
  getActPatchAttnHeadOutAllPos: { activationName: 'z', indexAxisNames: ['layer', 'head'] },
  getActPatchAttnHeadQAllPos: { activationName: 'q', indexAxisNames: ['layer', 'head'] },
  getActPatchAttnHeadKAllPos: { activationName: 'k', indexAxisNames: ['layer', 'head'] },
  getActPatchAttnHeadVAllPos: { activationName: 'v', indexAxisNames: ['layer', 'head'] },
  getActPatchAttnHeadPatternAllPos: { activationName: 'pattern', indexAxisNames: ['layer', 'head_index'] },
} as const satisfies Record<ActPatchPresetName, ActPatchPreset>;

/** Every single-activation preset by its function name. */
export const ACT_PATCH_PRESETS: Readonly<Record<ActPatchPresetName, ActPatchPreset>> = PRESET_TABLE;

function preset(name: ActPatchPresetName): ActPatchFn {
  const { activationName, indexAxisNames } = ACT_PATCH_PRESETS[name];
  return async (model, corruptedTokens, cleanCache, patchingMetric, options = {}) => {
    checkOptions(options, PRESET_KEYS, name);
    return await activationPatch(
      model,
      corruptedTokens,
      cleanCache,
      patchingMetric,
      { ...options, activationName, indexAxisNames },
      name,
    );
  };
}

/**
 * Patches the residual stream at the start of each block, at each position: `[n_layers, pos]`.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { cache, logits } = await model.runWithCache('cat dog ant cat dog');
 * const metric = logitDiffMetric(model.toSingleToken('ant'), model.toSingleToken('sun'));
 * const r = await getActPatchResidPre(model, 'man boy sun cat dog', cache, metric);
 * r.values.shape;   // [2, 6]: [n_layers, pos]
 * r.values.dispose(); logits.dispose(); cache.dispose(); model.dispose();
 * ```
 */
export const getActPatchResidPre: ActPatchFn = preset('getActPatchResidPre');
/** Patches the residual stream between attention and MLP of each block, per position: `[n_layers, pos]`. */
export const getActPatchResidMid: ActPatchFn = preset('getActPatchResidMid');
/** Patches each attention layer's output, per position: `[n_layers, pos]`. */
export const getActPatchAttnOut: ActPatchFn = preset('getActPatchAttnOut');
/** Patches each MLP layer's output, per position: `[n_layers, pos]` (not on attention-only models). */
export const getActPatchMlpOut: ActPatchFn = preset('getActPatchMlpOut');
/** Patches each head's output `z` at each position: `[n_layers, pos, n_heads]`. */
export const getActPatchAttnHeadOutByPos: ActPatchFn = preset('getActPatchAttnHeadOutByPos');
/** Patches each head's queries at each position: `[n_layers, pos, n_heads]`. */
export const getActPatchAttnHeadQByPos: ActPatchFn = preset('getActPatchAttnHeadQByPos');
/** Patches each key head at each position: `[n_layers, pos, n_key_value_heads]` (n_heads without GQA). */
export const getActPatchAttnHeadKByPos: ActPatchFn = preset('getActPatchAttnHeadKByPos');
/** Patches each value head at each position: `[n_layers, pos, n_key_value_heads]` (n_heads without GQA). */
export const getActPatchAttnHeadVByPos: ActPatchFn = preset('getActPatchAttnHeadVByPos');
/** Patches each head's attention pattern row of each destination position: `[n_layers, n_heads, dest_pos]`. */
export const getActPatchAttnHeadPatternByPos: ActPatchFn = preset('getActPatchAttnHeadPatternByPos');
/** Patches each single entry of each head's attention pattern: `[n_layers, n_heads, dest_pos, src_pos]`. */
export const getActPatchAttnHeadPatternDestSrcPos: ActPatchFn = preset(
  'getActPatchAttnHeadPatternDestSrcPos',
);
/** Patches each head's output `z` at every position at once: `[n_layers, n_heads]`. */
export const getActPatchAttnHeadOutAllPos: ActPatchFn = preset('getActPatchAttnHeadOutAllPos');
/** Patches each head's queries at every position at once: `[n_layers, n_heads]`. */
export const getActPatchAttnHeadQAllPos: ActPatchFn = preset('getActPatchAttnHeadQAllPos');
/** Patches each key head at every position at once: `[n_layers, n_key_value_heads]`. */
export const getActPatchAttnHeadKAllPos: ActPatchFn = preset('getActPatchAttnHeadKAllPos');
/** Patches each value head at every position at once: `[n_layers, n_key_value_heads]`. */
export const getActPatchAttnHeadVAllPos: ActPatchFn = preset('getActPatchAttnHeadVAllPos');
/** Patches each head's whole attention pattern: `[n_layers, n_heads]`. */
export const getActPatchAttnHeadPatternAllPos: ActPatchFn = preset('getActPatchAttnHeadPatternAllPos');
