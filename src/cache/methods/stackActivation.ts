/** `stackActivation`: one activation of every block before `layer`, stacked. */
import * as g from '../../../graph/index.js';
import { getActName } from '../../core/getActName.js';
import type { CacheGraph } from '../CacheGraph.js';

/** Options of {@link ActivationCache.stackActivation}. */
export interface StackActivationOptions {
  /** Blocks [0, layer); undefined/−1: all. */
  layer?: number | null;
  /** The layer type for names that need one (`'ln1'` for `scale`, …), as getActName's third argument. */
  sublayerType?: string | null;
}

/** Implements {@link ActivationCache.stackActivation}; documented there. */
export function stackActivation(
  cg: CacheGraph,
  activationName: string,
  options: StackActivationOptions = {},
): g.Lazy {
  const layer = cg.layerArg(options.layer, 'stackActivation');
  const name = (l: number): string => getActName(activationName, l, options.sublayerType);
  const parts = Array.from({ length: layer }, (_, l) => cg.act(name(l)));
  const first = parts[0] ?? cg.act(name(0));
  return new g.Lazy(
    g.stack(parts, {
      dim: 'layer',
      element: { shape: first.shape, dims: first.dims },
    }),
  );
}
