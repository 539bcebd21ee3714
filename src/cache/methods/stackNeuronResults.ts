/**
 * `stackNeuronResults`: every MLP neuron of the blocks before `layer` as one stack. Lazy: with a
 * projection or a logit attribution on top, the planner never builds the
 * [neurons, *batch_and_pos, d_model] stack.
 */
import type * as g from '../../../graph/index.js';
import type { CacheGraph } from '../CacheGraph.js';
import { checkNeuronSlice, neuronResults, neuronSum } from '../neuronResults.js';
import type { Projection } from '../project.js';
import { remainderOf } from '../remainder.js';
import { componentsFirst, maybeApplyLn, maybeProject, sumOf } from '../tails.js';

/** Options of {@link ActivationCache.stackNeuronResults}. */
export interface StackNeuronResultsOptions {
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /** Which neurons of each block (default all). An integer keeps the neuron dim (TransformerLens would mis-shape it). */
  neuronSlice?: g.SliceInput;
  /** Append `remainder`: the residual entering `layer` minus the neurons. */
  inclRemainder?: boolean;
  /** Apply the LN that reads this residual (cached scale) to every component. */
  applyLn?: boolean;
  /** Project every row onto [d_model] or [d_model, k] directions, after any LN. */
  projectOutputOnto?: Projection;
}

/** Implements {@link ActivationCache.stackNeuronResults}; documented there. */
export function stackNeuronResults(
  cg: CacheGraph,
  layer: number | null | undefined,
  options: StackNeuronResultsOptions = {},
): g.Lazy {
  const L = cg.layerArg(layer, 'stackNeuronResults');
  const ps = options.posSlice;
  // An integer slice would drop the neuron dim and shift every later axis: keep it as a list.
  const ns = typeof options.neuronSlice === 'number' ? [options.neuronSlice] : options.neuronSlice;
  const indices = checkNeuronSlice(cg, ns).indices(cg.cfg.dMlp ?? 0);
  const parts: g.Node[] = [];
  const labels: string[] = [];
  for (let l = 0; l < L; l++) {
    parts.push(componentsFirst(neuronResults(cg, l, ps, ns))); // [*bp, n, d] → [n, *bp, d]
    for (const n of indices) labels.push(`L${l}N${n}`);
  }
  const element = cg.residShape(ps);
  let stack = cg.concat(parts, labels.slice(), element);
  if (options.inclRemainder) {
    const sums = Array.from({ length: L }, (_, l) => neuronSum(cg, l, ps, ns));
    stack = remainderOf(cg, stack, sumOf(sums), L, ps, [...labels, 'remainder'], element);
  }
  const normed = maybeApplyLn(cg, stack, options.applyLn, { layer: L, posSlice: ps });
  return maybeProject(cg, normed, options.projectOutputOnto);
}
