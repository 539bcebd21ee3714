/** `getNeuronResults`: one block's per-neuron contributions to the residual stream. */
import * as g from '../../../graph/index.js';
import type { CacheGraph } from '../CacheGraph.js';
import { checkNeuronSlice, neuronResults } from '../neuronResults.js';
import type { Projection } from '../project.js';
import { maybeProject } from '../tails.js';

/** Options of {@link ActivationCache.getNeuronResults}. */
export interface GetNeuronResultsOptions {
  /** Which neurons (default all); an integer drops the neuron dim. */
  neuronSlice?: g.SliceInput;
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /** Project each result onto a direction [d_model] or directions [d_model, k] (never building the full result). */
  projectOutputOnto?: Projection;
}

/** Implements {@link ActivationCache.getNeuronResults}; documented there. */
export function getNeuronResults(
  cg: CacheGraph,
  layer: number,
  options: GetNeuronResultsOptions = {},
): g.Lazy {
  checkNeuronSlice(cg, options.neuronSlice);
  const result = new g.Lazy(neuronResults(cg, layer, options.posSlice, options.neuronSlice));
  return maybeProject(cg, result, options.projectOutputOnto);
}
