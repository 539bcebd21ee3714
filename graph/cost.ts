/**
 * The cost model: per-kind FLOPs and temporary bytes (an exhaustive table), and the peak bytes of
 * running a graph in the executor's order with its freeing policy. The planner compares naive and
 * planned peaks with it; tests assert budgets with it (never with timers, which vary by machine and
 * load).
 */
import { einsumGroups, einsumLetters } from './einsumSpec.js';
import { bytesOf, byKind, freedAfter, sizeOf, topoOrder, type KindTable, type Node } from './node.js';

/** The estimated cost of one node. */
export interface NodeCost {
  /** Floating-point operations. */
  readonly flops: number;
  /** Bytes of temporaries alive while the op runs, beyond its inputs and output. */
  readonly scratch: number;
}

const free: NodeCost = { flops: 0, scratch: 0 };
const elementwise = (n: Node): NodeCost => ({ flops: sizeOf(n.shape), scratch: 0 });

/** One cost rule per kind. */
export const costRules: KindTable<NodeCost> = {
  leaf: () => free,
  const: () => free,
  slice: () => free,
  stack: () => free,
  concat: () => free,
  center: (n) => ({
    flops: 2 * sizeOf(n.shape),
    scratch: bytesOf(n) / Math.max(1, n.shape[n.shape.length - 1]),
  }),
  scale: elementwise,
  layerNorm: (n) => ({ flops: 8 * sizeOf(n.shape), scratch: 2 * bytesOf(n) }),
  dot: (n) => {
    const [x, v] = n.inputs;
    const d = x.shape[x.shape.length - 1];
    // With a single direction the executor uses a plain matMul; otherwise a contraction that may
    // transpose both operands.
    const scratch = v.shape.length === 1 || x.shape.length === 1 ? 0 : bytesOf(x) + bytesOf(v) + bytesOf(n);
    return { flops: 2 * sizeOf(n.shape) * d, scratch };
  },
  mul: elementwise,
  add: elementwise,
  sub: elementwise,
  einsum: (n) => {
    const [a, b] = n.inputs;
    const l = einsumLetters(n.params.spec, a.shape, b.shape);
    const g = einsumGroups(l);
    const all = [...l.sizes.values()].reduce((p, x) => p * x, 1);
    // Transposed copies of both operands (when they need a transpose) and the matMul result.
    const moved = g.batch.length + g.contract.length > 0 ? bytesOf(a) + bytesOf(b) : 0;
    return { flops: 2 * all, scratch: moved + bytesOf(n) };
  },
  sum: (n) => ({ flops: sizeOf(n.inputs[0].shape), scratch: 0 }),
  mean: (n) => ({ flops: sizeOf(n.inputs[0].shape), scratch: 0 }),
  reshape: () => free,
  transpose: () => free,
  broadcast: () => free,
  rename: () => free,
  memo: (n) => ({ flops: 0, scratch: bytesOf(n) }),
};

/** Whole-graph estimates. */
export interface GraphCost {
  /** Highest bytes alive at once, counting only tensors the run creates (sources are resident). */
  readonly peakBytes: number;
  /**
   * Highest bytes of node outputs alive at once, op temporaries not counted: what the freeing
   * policy alone decides (the executor keeps exactly these alive between ops).
   */
  readonly peakLiveBytes: number;
  /** Floating-point operations of every node that runs. */
  readonly flops: number;
  /** Nodes that run. */
  readonly nodes: number;
}

// Sources already exist before a run; a reshape or rename of one is a view sharing its memory.
const isSource = (n: Node): boolean =>
  n.kind === 'leaf' ||
  n.kind === 'const' ||
  ((n.kind === 'reshape' || n.kind === 'rename') && isSource(n.inputs[0]));

/**
 * Simulates the executor over `roots`: each node's output lives until its last consumer has run.
 * Memo nodes are costed as if they miss (the worst case).
 */
export function estimate(roots: readonly Node[]): GraphCost {
  const order = topoOrder(roots);
  const freed = freedAfter(order, roots);
  let live = 0;
  let peak = 0;
  let peakLive = 0;
  let flops = 0;
  for (const [i, n] of order.entries()) {
    const c = byKind(costRules, n);
    const out = isSource(n) ? 0 : bytesOf(n);
    flops += c.flops;
    peak = Math.max(peak, live + c.scratch + out);
    live += out;
    peakLive = Math.max(peakLive, live);
    for (const x of freed[i]) if (!isSource(x)) live -= bytesOf(x);
  }
  return { peakBytes: peak, peakLiveBytes: peakLive, flops, nodes: order.length };
}
