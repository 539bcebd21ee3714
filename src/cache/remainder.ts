/**
 * The `remainder` row of head and neuron stacks: the residual entering block `layer` minus the
 * stack's components, so the extended stack sums exactly to that residual.
 */
import * as g from '../../graph/index.js';
import type { CacheGraph, ResidShape } from './CacheGraph.js';

/**
 * `stack` with one more row, `resid − total`, labelled by `labels` (the full list). `total` is the
 * sum of the stack's rows computed the cheap way by the caller (a contraction per block, never by
 * summing the expanded stack), or undefined for an empty stack.
 */
export function remainderOf(
  cg: CacheGraph,
  stack: g.Lazy,
  total: g.Node | undefined,
  layer: number,
  posSlice: g.SliceInput,
  labels: string[],
  element: ResidShape,
): g.Lazy {
  // TransformerLens reads resid_post of layer−1, which wraps to the last block at layer 0;
  // resid_pre of block 0 is the right residual there.
  const name = layer === 0 ? 'blocks.0.hook_resid_pre' : `blocks.${layer - 1}.hook_resid_post`;
  const resid = cg.atPositions(name, posSlice);
  const rest = total === undefined ? resid : g.sub(resid, total);
  const row = g.reshape(rest, [1, ...element.shape], ['component', ...element.dims]);
  return new g.Lazy(g.concat(stack.shape[0] === 0 ? [row] : [stack.node, row], { labels }));
}
