/**
 * The steps the analysis methods end with, in one place so every method reads the same way: the
 * `mlpInput` guard at full depth, the optional LN, the optional projection, the sum of per-block
 * totals, and the move of a per-block component axis to the front of a stack.
 */
import * as g from '../../graph/index.js';
import { LazylensError } from '../errors.js';
import type { CacheGraph } from './CacheGraph.js';
import { applyLnToStack, type ApplyLnOptions } from './methods/applyLnToStack.js';
import { project, type Projection } from './project.js';

/**
 * Throws when `mlpInput` asks for block `layer`'s MLP input at full depth: there is no block
 * n_layers, so no MLP input (and no attention output of that block) to read. `needs` says what
 * the caller would have read there and `alternative` another way out, for the message.
 */
export function checkMlpInputLayer(
  cg: CacheGraph,
  caller: string,
  layer: number,
  mlpInput: boolean | undefined,
  needs: string,
  alternative?: string,
): void {
  const n = cg.cfg.nLayers;
  if (!mlpInput || layer !== n) return;
  throw new LazylensError(
    `${caller}: mlpInput at layer ${layer} ${needs}, which does not exist; expected a layer below ${n}` +
      (alternative ? `, or ${alternative}.` : '.'),
  );
}

/** `stack` through the LN that reads it when `applyLn` is set (see `applyLnToStack`), else as it is. */
export function maybeApplyLn(
  cg: CacheGraph,
  stack: g.Lazy,
  applyLn: boolean | undefined,
  options: ApplyLnOptions,
): g.Lazy {
  return applyLn ? applyLnToStack(cg, stack, options) : stack;
}

/** `x` projected onto `projection` when one is given (see `project`), else as it is. */
export function maybeProject(cg: CacheGraph, x: g.Lazy, projection: Projection | undefined): g.Lazy {
  return projection ? project(x, projection, cg.cfg.dModel) : x;
}

/**
 * The sum of `terms` as a balanced tree (shallow graphs, fewer live partial sums than a chain), or
 * undefined when there are none.
 */
export function sumOf(terms: readonly g.Node[]): g.Node | undefined {
  return terms.length ? g.addAll(terms) : undefined;
}

/** `x` [..., k, d_model] with its component axis k moved to the front: [k, ..., d_model]. */
export function componentsFirst(x: g.Node): g.Node {
  const r = x.shape.length;
  return g.transpose(x, [r - 2, ...Array.from({ length: r - 2 }, (_, i) => i), r - 1]);
}
