/**
 * `applyLnToStack`: put each component of a residual stack through the normalization that reads
 * it, using the *cached* scale of the whole residual, as TransformerLens does. Because the scale
 * is shared, the map is linear and components still sum to the normalized total.
 */
import * as g from '../../../graph/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CacheGraph } from '../CacheGraph.js';

/** Options of {@link ActivationCache.applyLnToStack}. */
export interface ApplyLnOptions {
  /** The block whose input norm applies (ln1, or ln2 with `mlpInput`); undefined/−1: ln_final. */
  layer?: number | null;
  /** Use ln2 (the MLP's input norm) instead of ln1. */
  mlpInput?: boolean;
  /** Positions the stack was sliced to: the cached scale is sliced the same way. */
  posSlice?: g.SliceInput;
  /** Batch entries to keep: applied to the stack's dim 1 and to the scale. */
  batchSlice?: g.SliceInput;
  /** Whether the stack has a batch dim (dim 1). Default true. */
  hasBatchDim?: boolean;
  /**
   * For the final layer only: run the real `ln_final` (its weights included) on each component
   * with fresh statistics — the logit-lens view. Not linear: each component is normalized alone.
   */
  recomputeLn?: boolean;
}

/** Implements {@link ActivationCache.applyLnToStack} (documented there); `caller` names the method in errors. */
export function applyLnToStack(
  cg: CacheGraph,
  stack: g.Lazy,
  options: ApplyLnOptions = {},
  caller = 'applyLnToStack',
): g.Lazy {
  const cfg = cg.cfg;
  const kind = cfg.normalizationType;
  if (kind === null) return stack; // no normalization in this model: nothing to apply
  const layer = cg.layerArg(options.layer, 'applyLnToStack');
  let x = stack;
  if (options.hasBatchDim ?? true) x = x.slice(1, options.batchSlice);
  const variant = kind === 'LN' || kind === 'LNPre' ? 'ln' : 'rms';
  if (options.recomputeLn && layer === cfg.nLayers) {
    const w = kind === 'LN' || kind === 'RMS' ? cg.weight('ln_final.w') : undefined;
    const b = kind === 'LN' ? cg.weight('ln_final.b') : undefined;
    return x.layerNorm({ variant, eps: cfg.eps, weight: w, bias: b });
  }
  const name =
    layer === cfg.nLayers
      ? 'ln_final.hook_scale'
      : `blocks.${layer}.ln${options.mlpInput ? 2 : 1}.hook_scale`;
  let scale = cg.atPositions(name, options.posSlice);
  if (cg.hasBatchDim) scale = g.slice(scale, 0, options.batchSlice);
  checkPositions(x.shape, scale.shape, name, options.posSlice, caller);
  return x.applyLn(scale, variant);
}

function showSlice(posSlice: g.SliceInput): string {
  return posSlice === undefined ||
    posSlice === null ||
    typeof posSlice !== 'object' ||
    Array.isArray(posSlice)
    ? Array.isArray(posSlice)
      ? `[${posSlice.join(', ')}]`
      : String(posSlice)
    : JSON.stringify(posSlice);
}

/**
 * The stack's batch and position dims must be the cached scale's after the same slices; a stack
 * made with `posSlice` and normalized without it (or the reverse) is the usual cause.
 */
function checkPositions(
  stackShape: readonly number[],
  scaleShape: readonly number[],
  scaleName: string,
  posSlice: g.SliceInput,
  caller: string,
): void {
  const stackDims = stackShape.slice(1, -1);
  const scaleDims = scaleShape.slice(0, -1);
  if (stackDims.join() === scaleDims.join()) return;
  const which = scaleName.replace(/\.hook_scale$/, '');
  throw new InvalidArgumentError(
    `${caller}: the stack has batch-and-position dims [${stackDims.join(', ')}] but the cached ${which} scale, ` +
      `at posSlice ${showSlice(posSlice)}, has [${scaleDims.join(', ')}]; expected the same: pass the stack's posSlice ` +
      `here too (e.g. { posSlice: -1 } for a stack of the last position).`,
  );
}
