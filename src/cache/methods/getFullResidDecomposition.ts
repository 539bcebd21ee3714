/**
 * `getFullResidDecomposition`: the residual entering a block split into its finest parts — every
 * head, every neuron (or each MLP output), the embeddings, and the accumulated biases — in
 * TransformerLens's order `[heads, neurons | mlp outs, embed, pos_embed, bias]`.
 */
import * as g from '../../../graph/index.js';
import type { CacheGraph } from '../CacheGraph.js';
import type { Projection } from '../project.js';
import { checkMlpInputLayer, maybeApplyLn, maybeProject, sumOf } from '../tails.js';
import { decomposeResid } from './decomposeResid.js';
import { stackHeadResults } from './stackHeadResults.js';
import { stackNeuronResults } from './stackNeuronResults.js';

/** Options of {@link ActivationCache.getFullResidDecomposition}. */
export interface FullResidDecompositionOptions {
  /** Decompose the input of this block; undefined/−1: the unembed's input. */
  layer?: number | null;
  /** Decompose the MLP's input: block `layer`'s heads are included. */
  mlpInput?: boolean;
  /** One row per neuron (default true); false gives one row per MLP output. */
  expandNeurons?: boolean;
  /** Apply the LN that reads this residual (cached scale) to every component. */
  applyLn?: boolean;
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /** Project every row onto [d_model] or [d_model, k] directions, after any LN. */
  projectOutputOnto?: Projection;
}

/** Σ of the biases written before block `layer` (+ b_O of `layer` for the MLP input), broadcast to one row. */
function biasRow(
  cg: CacheGraph,
  layer: number,
  mlpInput: boolean,
  inclMlp: boolean,
  element: { shape: number[]; dims: string[] },
): g.Node {
  const terms: g.Node[] = [];
  for (let l = 0; l < layer; l++) {
    terms.push(cg.weight(`blocks.${l}.attn.b_O`, ['d_model']));
    if (inclMlp && !cg.cfg.attnOnly) terms.push(cg.weight(`blocks.${l}.mlp.b_out`, ['d_model']));
  }
  if (mlpInput) terms.push(cg.weight(`blocks.${layer}.attn.b_O`, ['d_model']));
  const total = sumOf(terms) ?? g.constant(0);
  return g.broadcast(total, [1, ...element.shape], ['component', ...element.dims]);
}

/** Implements {@link ActivationCache.getFullResidDecomposition}; documented there. */
export function getFullResidDecomposition(
  cg: CacheGraph,
  options: FullResidDecompositionOptions = {},
): g.Lazy {
  const cfg = cg.cfg;
  const layer = cg.layerArg(options.layer, 'getFullResidDecomposition');
  const mlpInput = options.mlpInput ?? false;
  const expand = options.expandNeurons ?? true;
  const ps = options.posSlice;
  checkMlpInputLayer(cg, 'getFullResidDecomposition', layer, mlpInput, `needs block ${layer}'s MLP input`);
  const element = cg.residShape(ps);
  const parts: g.Lazy[] = [stackHeadResults(cg, { layer: layer + (mlpInput ? 1 : 0), posSlice: ps })];
  if (!cfg.attnOnly && layer > 0) {
    parts.push(
      expand
        ? stackNeuronResults(cg, layer, { posSlice: ps })
        : decomposeResid(cg, { layer, mlpInput, posSlice: ps, inclEmbeds: false, mode: 'mlp' }),
    );
  }
  const one = (name: string): g.Node =>
    g.reshape(cg.atPositions(name, ps), [1, ...element.shape], ['component', ...element.dims]);
  const extra: g.Node[] = [];
  const extraLabels: string[] = [];
  if (cg.acts.resolve('hook_embed')) {
    extra.push(one('hook_embed'));
    extraLabels.push('embed');
  }
  if (cg.acts.resolve('hook_pos_embed')) {
    extra.push(one('hook_pos_embed'));
    extraLabels.push('pos_embed');
  }
  // Neurons exclude b_out, so the bias row carries it; MLP outputs already include it.
  extra.push(biasRow(cg, layer, mlpInput, expand, element));
  extraLabels.push('bias');
  const labels = [...parts.flatMap((p) => p.labels ?? []), ...extraLabels];
  const stack = cg.concat([...parts.map((p) => p.node), ...extra], labels, element);
  const normed = maybeApplyLn(cg, stack, options.applyLn, { layer, posSlice: ps, mlpInput });
  return maybeProject(cg, normed, options.projectOutputOnto);
}
