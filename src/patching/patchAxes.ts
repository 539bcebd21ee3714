/**
 * The axes a patching run iterates over and where each one lands in an activation. TL's axis names
 * are kept (`layer`, `pos`, `head` / `head_index`, `dest_pos`, `src_pos`); each one other than
 * `layer` selects one dim of the hook point's activation (see `HOOK_DIMS`).
 */
import type { HookDim } from '../core/hookPoints.js';
import { InvalidArgumentError, UnknownKeyError } from '../errors.js';

/** An axis a patching run can iterate over (TransformerLens's names). */
export type PatchAxis = 'layer' | 'pos' | 'head' | 'head_index' | 'dest_pos' | 'src_pos';

/** The hook dims each non-layer axis may select: heads are key/value heads on k and v under GQA. */
const AXIS_DIMS: Readonly<Record<Exclude<PatchAxis, 'layer'>, readonly HookDim[]>> = {
  pos: ['pos'],
  head: ['head', 'kv_head'],
  head_index: ['head', 'kv_head'],
  dest_pos: ['query'],
  src_pos: ['key'],
};

/** Every axis name accepted. */
export const PATCH_AXES: readonly PatchAxis[] = ['layer', 'pos', 'head', 'head_index', 'dest_pos', 'src_pos'];

/** Where one iterated axis lands: the activation dim it selects (absent for `layer`). */
export interface AxisPlan {
  axis: PatchAxis;
  /** Index into the activation's dims (batch is 0), or undefined for `layer`. */
  dim?: number;
}

/**
 * Checks the axes against the activation's dims and says which dim each one selects.
 * @param axes the axes, in output order; exactly one must be `layer`.
 * @param dims the activation's dims (from `HOOK_DIMS`).
 * @param activation the activation's short name, for messages.
 * @param where the helper being called, for messages.
 */
export function planAxes(
  axes: readonly string[],
  dims: readonly HookDim[],
  activation: string,
  where: string,
): AxisPlan[] {
  const list: readonly string[] = Array.isArray(axes) ? axes : [];
  if (list.length === 0) {
    throw new InvalidArgumentError(
      `${where}: indexAxisNames given as ${JSON.stringify(axes)}; expected a non-empty list such as ['layer', 'pos'].`,
    );
  }
  const used = new Set<number>();
  const plans = list.map((axis): AxisPlan => {
    if (!PATCH_AXES.includes(axis as PatchAxis)) {
      throw new UnknownKeyError(axis, PATCH_AXES, `patching axis in ${where}`);
    }
    if (axis === 'layer') return { axis };
    const wanted = AXIS_DIMS[axis as Exclude<PatchAxis, 'layer'>];
    const dim = dims.findIndex((d) => wanted.includes(d));
    if (dim < 0) {
      const fits = PATCH_AXES.filter((a) => a === 'layer' || dims.some((d) => AXIS_DIMS[a].includes(d)));
      throw new InvalidArgumentError(
        `${where}: axis '${axis}' given for '${activation}' (dims [${dims.join(', ')}]); expected one of ${fits.map((a) => `'${a}'`).join(', ')}.`,
      );
    }
    if (used.has(dim)) {
      throw new InvalidArgumentError(
        `${where}: axes ${JSON.stringify(axes)} name the '${dims[dim]}' dim of '${activation}' twice; expected each dim once.`,
      );
    }
    used.add(dim);
    return { axis: axis as PatchAxis, dim };
  });
  const layers = plans.filter((p) => p.axis === 'layer').length;
  if (layers !== 1) {
    throw new InvalidArgumentError(
      `${where}: indexAxisNames ${JSON.stringify(axes)} name 'layer' ${layers} times; expected exactly once (the hook point depends on the layer).`,
    );
  }
  return plans;
}
