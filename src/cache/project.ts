/**
 * `projectOutputOnto` (TransformerLens ≥ 3.3): replace each d_model vector by its projection onto a
 * direction [d_model] (the d_model dim is dropped) or onto k directions [d_model, k] (it becomes k).
 * Built as dots so the planner pushes the projection below the expansions that make stacks big.
 */
import * as tf from '@tensorflow/tfjs';
import * as g from '../../graph/index.js';
import { InvalidArgumentError } from '../errors.js';

/** A direction [d_model] or directions [d_model, k]: a tensor the caller keeps alive, or a Lazy. */
export type Projection = tf.Tensor | g.Lazy;

/** `x` [..., d_model] projected onto `p`: [...] for [d_model], [..., k] for [d_model, k]. */
export function project(x: g.Lazy, p: Projection, dModel: number): g.Lazy {
  const node = p instanceof tf.Tensor ? g.constant(p) : p.node;
  if (node.shape.length < 1 || node.shape.length > 2 || node.shape[0] !== dModel) {
    throw new InvalidArgumentError(
      `projectOutputOnto of shape [${node.shape.join(', ')}] given; expected [${dModel}] or [${dModel}, k].`,
    );
  }
  if (node.shape.length === 1) return x.dot(node);
  const k = node.shape[1];
  const cols = Array.from({ length: k }, (_, j) => g.dot(x.node, g.slice(node, 1, j)));
  const stacked = g.stack(cols, { axis: x.rank - 1, dim: 'projection' });
  // Stack labels name the new axis' entries; the rows keep the input's component labels.
  return new g.Lazy(g.rename(stacked, stacked.dims, x.labels));
}
