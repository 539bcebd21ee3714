/**
 * Per-neuron outputs: what each MLP neuron writes to the residual stream, `post[..., n] · W_out[n]`.
 * Built lazily as a broadcast product so the planner can project first
 * (dot(a[..., None] · W, v) = a · (W·v)) and never build [*batch_and_pos, d_mlp, d_model].
 */
import * as g from '../../graph/index.js';
import { BadLayerError, InvalidArgumentError } from '../errors.js';
import type { CacheGraph } from './CacheGraph.js';

function checkBlock(cg: CacheGraph, layer: number, what: string): void {
  const n = cg.cfg.nLayers;
  if (cg.cfg.attnOnly)
    throw new InvalidArgumentError(`${what}: this model is attention-only; it has no neurons.`);
  if (!Number.isInteger(layer) || layer < 0 || layer >= n) {
    throw new BadLayerError(`${what}: layer ${layer} given; expected a block index in [0, ${n - 1}].`);
  }
}

/** The MLP activations of block `layer` after the position and neuron slices: [*batch_and_pos, n]. */
export function neuronActs(
  cg: CacheGraph,
  layer: number,
  posSlice: g.SliceInput,
  neuronSlice: g.SliceInput,
): g.Node {
  checkBlock(cg, layer, 'neuron results');
  const post = cg.atPositions(`blocks.${layer}.mlp.hook_post`, posSlice);
  return g.slice(post, -1, neuronSlice);
}

/** `W_out` rows of the sliced neurons: [n, d_model] (or [d_model] for one index). */
export function neuronWeights(cg: CacheGraph, layer: number, neuronSlice: g.SliceInput): g.Node {
  return g.slice(cg.weight(`blocks.${layer}.mlp.W_out`, ['d_mlp', 'd_model']), 0, neuronSlice);
}

/**
 * Block `layer`'s neuron results, [*batch_and_pos, neurons, d_model]; an integer `neuronSlice`
 * drops the neuron dim, as TransformerLens.
 */
export function neuronResults(
  cg: CacheGraph,
  layer: number,
  posSlice: g.SliceInput,
  neuronSlice: g.SliceInput,
): g.Node {
  const a = neuronActs(cg, layer, posSlice, neuronSlice);
  const W = neuronWeights(cg, layer, neuronSlice);
  return g.mul(g.reshape(a, [...a.shape, 1], [...a.dims, 'd_model']), W);
}

/** Σ over the sliced neurons of block `layer`, as one contraction: [*batch_and_pos, d_model]. */
export function neuronSum(
  cg: CacheGraph,
  layer: number,
  posSlice: g.SliceInput,
  neuronSlice: number[] | g.SliceInput,
): g.Node {
  const a = neuronActs(cg, layer, posSlice, neuronSlice);
  return g.einsum('...n,nd->...d', a, neuronWeights(cg, layer, neuronSlice));
}

/** Validates a neuron slice against d_mlp now (not at materialization). */
export function checkNeuronSlice(cg: CacheGraph, neuronSlice: g.SliceInput): g.Slice {
  const s = g.Slice.from(neuronSlice);
  s.indices(cg.cfg.dMlp ?? 0); // throws SliceError naming the index and the size
  return s;
}
