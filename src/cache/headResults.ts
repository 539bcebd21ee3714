/**
 * Per-head outputs: what each attention head writes to the residual stream, `z_h · W_O[h]`
 * ([*batch_and_pos, head, d_model]). Built lazily from `hook_z` so the planner can project
 * before expanding (dot(einsum(z, W_O), v) = einsum(z, W_O·v)); `computeHeadResults()` fills the
 * cache's memo so later stacks reuse the materialized values instead.
 */
import * as g from '../../graph/index.js';
import { posAxis } from '../core/hookPoints.js';
import type { CacheGraph } from './CacheGraph.js';
import { componentsFirst } from './tails.js';

const SPEC = '...hk,hkd->...hd';

/** The head results of block `layer` before any slicing, memo-wrapped: [*batch, pos, head, d_model]. */
export function headResultNode(cg: CacheGraph, layer: number): g.Node {
  const cached = `blocks.${layer}.attn.hook_result`;
  // A model run with useAttnResult already cached them: read those.
  if (cg.acts.resolve(cached)) return cg.act(cached);
  const z = cg.act(`blocks.${layer}.attn.hook_z`);
  const W_O = cg.weight(`blocks.${layer}.attn.W_O`, ['head', 'd_head', 'd_model']);
  return g.memo(g.einsum(SPEC, z, W_O), cg.memo);
}

/**
 * Block `layer`'s head results sliced to `posSlice`, heads first: [head, *batch_and_pos, d_model].
 */
export function headStack(cg: CacheGraph, layer: number, posSlice: g.SliceInput): g.Node {
  return componentsFirst(g.slice(headResultNode(cg, layer), posAxis('attn.hook_result'), posSlice));
}

/** Σ over heads of block `layer`'s results after `posSlice`, as one contraction: [*batch_and_pos, d_model]. */
export function headSum(cg: CacheGraph, layer: number, posSlice: g.SliceInput): g.Node {
  const cached = `blocks.${layer}.attn.hook_result`;
  if (cg.acts.resolve(cached)) return g.sum(cg.atPositions(cached, posSlice), -2);
  const z = cg.atPositions(`blocks.${layer}.attn.hook_z`, posSlice);
  const W_O = cg.weight(`blocks.${layer}.attn.W_O`, ['head', 'd_head', 'd_model']);
  return g.einsum('...hk,hkd->...d', z, W_O);
}

/**
 * Materializes every block's head results into the cache's memo (idempotent), so stacks built
 * afterwards read them instead of recomputing. Returns nothing; nothing is written into the
 * cache's dict (TransformerLens mutates it).
 */
export function computeHeadResults(cg: CacheGraph): void {
  for (let l = 0; l < cg.cfg.nLayers; l++) {
    const node = headResultNode(cg, l);
    if (node.kind !== 'memo' || cg.memo.has(node.params.key ?? node)) continue;
    const value = g.execute(node.inputs[0]);
    cg.memo.set(node.params.key ?? node.inputs[0], value);
  }
}
