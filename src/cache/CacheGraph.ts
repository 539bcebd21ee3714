/**
 * How the cache's analysis methods reach the lazy graph: leaves for cached activations and model
 * weights (with TransformerLens's dim names), slices on TransformerLens's axes, layer arguments
 * normalised once at the boundary, and empty stacks shaped from declared dims rather than borrowed
 * tensors. One CacheGraph per ActivationCache.
 */
import * as g from '../../graph/index.js';
import { BadLayerError, LazylensError, UnknownKeyError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import { hookDims, posAxis } from '../core/hookPoints.js';
import type { LensModel } from './LensModel.js';

/** The batch-and-position dims of a residual-shaped activation after a position slice. */
export interface ResidShape {
  shape: number[];
  dims: string[];
}

/** Cached activations as a leaf source the executor resolves at run time. */
export interface ActivationSource extends g.LeafSource {
  readonly hasBatchDim: boolean;
  keys(): Iterable<string>;
}

export class CacheGraph {
  readonly cfg: HookedTransformerConfig;
  /** Head and neuron results computed on request, freed with the cache. */
  readonly memo = new g.Memo('ActivationCache');
  private readonly weights: g.LeafSource;

  constructor(
    readonly acts: ActivationSource,
    readonly model: LensModel,
  ) {
    this.cfg = model.cfg;
    this.weights = {
      label: 'model weights',
      get disposed() {
        return model.isDisposed;
      },
      resolve: (name) => (model.isDisposed ? undefined : model.getParam(name)),
    };
  }

  get hasBatchDim(): boolean {
    return this.acts.hasBatchDim;
  }

  /** A leaf for cached activation `name` (a full hook name), with its named dims. */
  act(name: string): g.Node {
    const t = this.acts.resolve(name);
    if (!t) throw new UnknownKeyError(name, this.acts.keys(), 'cache key');
    let dims = [...(hookDims(name) ?? t.shape.map(() => g.ANON))];
    if (!this.hasBatchDim && dims[0] === 'batch') dims = dims.slice(1);
    if (dims.length !== t.shape.length) dims = t.shape.map(() => g.ANON);
    return g.leaf(name, this.acts, { shape: t.shape, dims });
  }

  /** A leaf for model parameter `name` (TransformerLens's name). */
  weight(name: string, dims?: readonly string[]): g.Node {
    const t = this.model.getParam(name);
    return g.leaf(name, this.weights, { shape: t.shape, dims });
  }

  /** `layer` as TransformerLens reads it: undefined, null and −1 mean n_layers (the unembed's input). */
  layerArg(layer: number | null | undefined, what: string, max = this.cfg.nLayers): number {
    if (layer === undefined || layer === null || layer === -1) return this.cfg.nLayers;
    if (!Number.isInteger(layer) || layer < 0 || layer > max) {
      throw new BadLayerError(
        `${what}: layer ${layer} given; expected an integer in [0, ${max}], or -1/undefined for all layers.`,
      );
    }
    return layer;
  }

  /** The activation under hook `name` sliced to `posSlice` on the hook's position axis. */
  atPositions(name: string, posSlice: g.SliceInput): g.Node {
    return g.slice(this.act(name), posAxis(name), posSlice);
  }

  /** Shape and dims of one residual vector stack element ([*batch_and_pos, d_model]) after `posSlice`. */
  residShape(posSlice: g.SliceInput): ResidShape {
    const name = this.acts.resolve('hook_embed') ? 'hook_embed' : 'blocks.0.hook_resid_pre';
    if (!this.acts.resolve(name)) {
      throw new LazylensError(
        'This cache holds no residual-stream activation to take the batch and position sizes from.',
      );
    }
    const node = this.atPositions(name, posSlice);
    return { shape: [...node.shape], dims: [...node.dims] };
  }

  /** Stack `xs` along a new axis 0 with `labels`; an empty list gives [0, ...element]. */
  stack(xs: g.Node[], labels: string[], element: ResidShape): g.Lazy {
    return new g.Lazy(g.stack(xs, { labels, element, dim: 'component' }));
  }

  /** Join stacks along axis 0, keeping labels; empty parts are dropped. */
  concat(parts: g.Node[], labels: string[], element: ResidShape): g.Lazy {
    const nonEmpty = parts.filter((p) => p.shape[0] !== 0);
    if (nonEmpty.length === 0) return this.stack([], labels, element);
    return new g.Lazy(g.concat(nonEmpty, { labels }));
  }
}
