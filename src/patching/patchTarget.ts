/**
 * Which hook point a patching run edits at each layer: TL's short activation name (`resid_pre`,
 * `z`, `pattern`, …) resolved through `getActName`, checked against the model's own hook points so
 * an activation the model does not have (an MLP output on an attention-only model) fails up front
 * with the reason, and a misspelt one with the nearest names.
 */
import type { HookedTransformerConfig } from '../core/config.js';
import { getActName } from '../core/getActName.js';
import { hookDims, type HookDim } from '../core/hookPoints.js';
import { InvalidArgumentError, UnknownKeyError } from '../errors.js';

/** The model facts the resolution needs. */
export interface PatchableModel {
  readonly cfg: HookedTransformerConfig;
  readonly hookNames: readonly string[];
}

/** The hook point to patch at every layer, and the activation's dims. */
export interface PatchTarget {
  /** The short name as given (`'z'`). */
  activation: string;
  /** `blocks.L.…` for each layer L. */
  names: string[];
  dims: readonly HookDim[];
}

/** The per-layer activation names this model has, in the short form `getActName` takes. */
export function patchableActivations(model: PatchableModel): string[] {
  const short = new Set<string>();
  for (const name of model.hookNames) {
    const m = /^blocks\.0\.(?:attn\.|mlp\.)?hook_([a-z_]+)$/.exec(name);
    if (m && getActName(m[1], 0) === name) short.add(m[1]);
  }
  return [...short];
}

/** Why a hook point that TransformerLens knows is missing from this model. */
function missingReason(cfg: HookedTransformerConfig, suffix: string): string {
  if (cfg.attnOnly && /^(hook_mlp_out|hook_resid_mid|mlp\.)/.test(suffix))
    return 'it is attention-only (cfg.attnOnly: no MLP layers)';
  if (suffix === 'attn.hook_result') return 'hook_result fires only with useAttnResult';
  if (/^attn\.hook_rot_/.test(suffix)) return 'it has no rotary embeddings';
  if (suffix === 'hook_resid_mid' && cfg.parallelAttnMlp)
    return 'attention and MLP run in parallel (no resid_mid)';
  return 'it has no such hook point';
}

/**
 * @param model the model (its config and hook names).
 * @param activation TL's short name (`'resid_pre'`, `'z'`, `'pattern'`, `'mlp_out'`, …).
 * @param where the helper being called, for messages.
 * @throws UnknownKeyError for a name no model has, with the nearest names this model has.
 * @throws InvalidArgumentError for a name this model lacks (saying why) or one with a layer in it.
 */
export function resolvePatchTarget(model: PatchableModel, activation: string, where: string): PatchTarget {
  if (typeof activation !== 'string' || activation === '') {
    throw new InvalidArgumentError(
      `${where}: activationName given as ${JSON.stringify(activation)}; expected a short name such as 'resid_pre' or 'z'.`,
    );
  }
  // A dot, a digit or a `hook_` prefix means a full name or one with its layer (`k6`).
  if (/[.\d]/.test(activation) || activation.startsWith('hook_')) {
    throw new InvalidArgumentError(
      `${where}: activationName '${activation}' given; expected a per-layer name without its layer, such as 'resid_pre' or 'z' (the layer is an axis).`,
    );
  }
  const known = new Set(model.hookNames);
  const names = Array.from({ length: model.cfg.nLayers }, (_, l) => getActName(activation, l));
  const suffix = names[0].replace(/^blocks\.0\./, '');
  const dims = hookDims(names[0]);
  if (!dims) throw new UnknownKeyError(activation, patchableActivations(model), 'activation name');
  if (!names.every((n) => known.has(n))) {
    throw new InvalidArgumentError(
      `${where}: activation '${activation}' given, but ${model.cfg.modelName} has no ${names[0]}: ${missingReason(model.cfg, suffix)}; expected one of ${patchableActivations(model).join(', ')}.`,
    );
  }
  return { activation, names, dims };
}
