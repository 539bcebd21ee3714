/**
 * `decomposeResid`: the residual stream entering a block as the sum of what wrote to it —
 * embeddings, then each earlier block's attention and MLP outputs.
 */
import type * as g from '../../../graph/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CacheGraph } from '../CacheGraph.js';
import { checkMlpInputLayer, maybeApplyLn } from '../tails.js';

/** Options of {@link ActivationCache.decomposeResid}. */
export interface DecomposeResidOptions {
  /** Decompose the input of this block; undefined/−1: the unembed's input. */
  layer?: number | null;
  /** Decompose the MLP's input instead: add block `layer`'s attention output (if `mode` includes attention). */
  mlpInput?: boolean;
  /** Which sublayers: 'all' (default), only 'mlp', or only 'attn'. */
  mode?: 'all' | 'mlp' | 'attn';
  /** Apply the LN that reads this residual (cached scale) to every component. */
  applyLn?: boolean;
  /** Positions to keep (Python slice semantics; an integer drops the pos dim). */
  posSlice?: g.SliceInput;
  /** Include `embed` and `pos_embed` (default true). */
  inclEmbeds?: boolean;
}

/** Implements {@link ActivationCache.decomposeResid}; documented there. */
export function decomposeResid(cg: CacheGraph, options: DecomposeResidOptions = {}): g.Lazy {
  const cfg = cg.cfg;
  const layer = cg.layerArg(options.layer, 'decomposeResid');
  const mode = options.mode ?? 'all';
  if (!['all', 'mlp', 'attn'].includes(mode)) {
    throw new InvalidArgumentError(
      `decomposeResid: mode '${String(mode)}' given; expected 'all', 'mlp' or 'attn'.`,
    );
  }
  const inclAttn = mode !== 'mlp';
  // At full depth mlpInput would add the attention output of block n_layers, which does not exist
  // (TransformerLens fails on the missing key); with mode 'mlp' it adds nothing, and ln_final applies.
  if (inclAttn) {
    checkMlpInputLayer(
      cg,
      'decomposeResid',
      layer,
      options.mlpInput,
      `with mode '${mode}' asks for the attention output of block ${layer}`,
      "mode 'mlp'",
    );
  }
  const inclMlp = mode !== 'attn' && !cfg.attnOnly;
  const ps = options.posSlice;
  const parts: g.Node[] = [];
  const labels: string[] = [];
  const add = (name: string, label: string): void => {
    parts.push(cg.atPositions(name, ps));
    labels.push(label);
  };
  if (options.inclEmbeds ?? true) {
    if (cg.acts.resolve('hook_embed')) add('hook_embed', 'embed');
    if (cg.acts.resolve('hook_pos_embed')) add('hook_pos_embed', 'pos_embed');
  }
  for (let l = 0; l < layer; l++) {
    if (inclAttn) add(`blocks.${l}.hook_attn_out`, `${l}_attn_out`);
    if (inclMlp) add(`blocks.${l}.hook_mlp_out`, `${l}_mlp_out`);
  }
  if (options.mlpInput && inclAttn) add(`blocks.${layer}.hook_attn_out`, `${layer}_attn_out`);
  // Layer 0 without embeds is an empty stack of the right shape (TransformerLens errors here).
  const stack = cg.stack(parts, labels, cg.residShape(ps));
  return maybeApplyLn(cg, stack, options.applyLn, { layer, posSlice: ps, mlpInput: options.mlpInput });
}
