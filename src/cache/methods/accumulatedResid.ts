/**
 * `accumulatedResid`: the residual stream as it stands before each block — the logit lens's input.
 */
import type * as g from '../../../graph/index.js';
import type { CacheGraph } from '../CacheGraph.js';
import { maybeApplyLn } from '../tails.js';

/** Options of {@link ActivationCache.accumulatedResid}. */
export interface AccumulatedResidOptions {
  /** Take streams up to the input of this block; undefined/−1/n_layers: all, ending with `final_post`. */
  layer?: number | null;
  /** Also include `resid_mid` of every earlier block. */
  inclMid?: boolean;
  /**
   * Normalize each stream. At full depth this recomputes `ln_final` per stream (the logit lens);
   * otherwise it divides by the cached scale of block `layer`'s input norm.
   */
  applyLn?: boolean;
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /**
   * End with `resid_mid` of block `layer` (the MLP's input) instead of its `resid_pre`. At full
   * depth it changes nothing (the stack ends with `final_post`, read by ln_final), as TransformerLens.
   */
  mlpInput?: boolean;
}

/** Implements {@link ActivationCache.accumulatedResid}; documented there. */
export function accumulatedResid(cg: CacheGraph, options: AccumulatedResidOptions = {}): g.Lazy {
  const n = cg.cfg.nLayers;
  const layer = cg.layerArg(options.layer, 'accumulatedResid');
  const parts: g.Node[] = [];
  const labels: string[] = [];
  for (let l = 0; l <= layer; l++) {
    if (l === n) {
      parts.push(cg.atPositions(`blocks.${n - 1}.hook_resid_post`, options.posSlice));
      labels.push('final_post');
      continue;
    }
    parts.push(cg.atPositions(`blocks.${l}.hook_resid_pre`, options.posSlice));
    labels.push(`${l}_pre`);
    if ((options.inclMid && l < layer) || (options.mlpInput && l === layer)) {
      parts.push(cg.atPositions(`blocks.${l}.hook_resid_mid`, options.posSlice));
      labels.push(`${l}_mid`);
    }
  }
  const stack = cg.stack(parts, labels, cg.residShape(options.posSlice));
  return maybeApplyLn(cg, stack, options.applyLn, {
    layer,
    posSlice: options.posSlice,
    mlpInput: options.mlpInput,
    recomputeLn: layer === n,
  });
}
