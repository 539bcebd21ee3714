/**
 * `stackHeadResults`: every head of the blocks before `layer` as one stack (head results are
 * per-head `z · W_O`, without `b_O`).
 */
import type * as g from '../../../graph/index.js';
import type { CacheGraph } from '../CacheGraph.js';
import { headStack, headSum } from '../headResults.js';
import { remainderOf } from '../remainder.js';
import { maybeApplyLn, sumOf } from '../tails.js';

/** Options of {@link ActivationCache.stackHeadResults}. */
export interface StackHeadResultsOptions {
  /** Heads of blocks [0, layer); undefined/−1: all blocks. */
  layer?: number | null;
  /** Append `remainder`: the residual entering `layer` minus the heads, so the stack sums to it. */
  inclRemainder?: boolean;
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /** Apply the LN that reads this residual (cached scale) to every component. */
  applyLn?: boolean;
}

/** Implements {@link ActivationCache.stackHeadResults}; documented there. */
export function stackHeadResults(cg: CacheGraph, options: StackHeadResultsOptions = {}): g.Lazy {
  const layer = cg.layerArg(options.layer, 'stackHeadResults');
  const ps = options.posSlice;
  const parts: g.Node[] = [];
  const labels: string[] = [];
  for (let l = 0; l < layer; l++) {
    parts.push(headStack(cg, l, ps));
    for (let h = 0; h < cg.cfg.nHeads; h++) labels.push(`L${l}H${h}`);
  }
  const element = cg.residShape(ps);
  let stack = cg.concat(parts, labels.slice(), element);
  if (options.inclRemainder) {
    const sums = Array.from({ length: layer }, (_, l) => headSum(cg, l, ps));
    stack = remainderOf(cg, stack, sumOf(sums), layer, ps, [...labels, 'remainder'], element);
  }
  return maybeApplyLn(cg, stack, options.applyLn, { layer, posSlice: ps });
}
