/**
 * The executor: runs nodes with tfjs in topological order, frees every intermediate right after its
 * last consumer, and hands back only the requested tensors (owned by the caller). Sources — leaves,
 * consts and memo hits — are borrowed, never freed. If anything throws midway, every tensor the run
 * created is freed before the error propagates, so a failed materialization leaks nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceBindingLimit } from './bindingLimit.js';
import { DisposedError, ResourceLimitError, ShapeError, UnresolvedLeafError } from './errors.js';
import { execRules, type ExecContext } from './execRules.js';
import { byKind, bytesOf, freedAfter, topoOrder, type KindTable, type Node, type NodeOf } from './node.js';

/** Measurements of one run, filled in when passed to {@link execute}. */
export interface ExecStats {
  /** Highest `tf.memory().numBytes` above the starting level, polled inside every op (temporaries included). */
  peakBytes: number;
  /** Ops run (sources included). */
  steps: number;
}

/** Options of {@link execute}. */
export interface ExecuteOptions {
  /** Filled with measurements of the run. */
  readonly stats?: ExecStats;
  /** Called after each node runs; a throw aborts the run (and frees everything the run made). */
  readonly onStep?: (node: Node, value: tf.Tensor) => void;
}

/** Whether a memo node already holds its value, making it a source that needs none of its inputs. */
function isMemoHit(node: Node): boolean {
  if (node.kind !== 'memo') return false;
  const { store, key } = node.params;
  if (store.disposed) {
    throw new DisposedError(`memo: given a graph whose ${store.label} was disposed, expected a live owner.`);
  }
  return store.get(key ?? node.inputs[0]) !== undefined;
}

// Checks every source before any op runs, so an unresolvable leaf fails fast and names itself.
const preflight: KindTable<void> = {
  leaf: (n) => void checkLeaf(n),
  const: (n) => void checkConst(n),
  slice: () => undefined,
  stack: () => undefined,
  concat: () => undefined,
  center: () => undefined,
  scale: () => undefined,
  layerNorm: () => undefined,
  dot: () => undefined,
  mul: () => undefined,
  add: () => undefined,
  sub: () => undefined,
  einsum: () => undefined,
  sum: () => undefined,
  mean: () => undefined,
  reshape: () => undefined,
  transpose: () => undefined,
  broadcast: () => undefined,
  rename: () => undefined,
  memo: () => undefined,
};

function checkLeaf(n: NodeOf<'leaf'>): tf.Tensor {
  const { name, source, shape } = n.params;
  if (source.disposed) {
    throw new DisposedError(
      `leaf '${name}': given a ${source.label} that was disposed, expected a live source.`,
    );
  }
  const t = source.resolve(name);
  if (!t)
    throw new UnresolvedLeafError(
      `leaf '${name}': given ${source.label} has no tensor '${name}', expected one.`,
    );
  if (t.isDisposed) {
    throw new DisposedError(
      `leaf '${name}': given a disposed tensor from ${source.label}, expected a live tensor.`,
    );
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(
      `leaf '${name}': given a tensor of shape [${t.shape.join(', ')}] from ${source.label}, expected the declared [${shape.join(', ')}].`,
    );
  }
  return t;
}

function checkConst(n: NodeOf<'const'>): void {
  const v = n.params.value;
  if (typeof v !== 'number' && v.isDisposed) {
    throw new DisposedError(
      `const of shape [${n.shape.join(', ')}]: given a disposed tensor, expected its owner to keep it alive.`,
    );
  }
}

/**
 * Refuses a graph with a value larger than the backend binds per tensor (WebGPU's
 * maxStorageBufferBindingSize): a kernel binding it would return garbage, not throw.
 */
function checkBindable(order: readonly Node[]): void {
  const limit = deviceBindingLimit();
  if (limit === Infinity) return;
  for (const n of order) {
    if (bytesOf(n) > limit) {
      throw new ResourceLimitError(
        `${n.kind} of shape [${n.shape.join(', ')}] is ${bytesOf(n)} bytes; expected at most the ${limit} bytes this backend binds per tensor. Slice the positions or the batch first.`,
      );
    }
  }
}

/** Runs `roots` (sharing common subgraphs) and returns one caller-owned tensor per root, each of its root's `shape`. */
export function executeMany(roots: readonly Node[], opts: ExecuteOptions = {}): tf.Tensor[] {
  // Memo hits are sources: they need none of their inputs.
  const order = topoOrder(roots, isMemoHit);
  for (const n of order) byKind(preflight, n);
  checkBindable(order);
  const hits = new Set(order.filter(isMemoHit));
  const freed = freedAfter(order, roots, (n) => hits.has(n));

  const values = new Map<Node, tf.Tensor>();
  const owned = new Set<tf.Tensor>();
  const base = tf.memory().numBytes;
  const stats = opts.stats;
  const poll = (): void => {
    if (stats) stats.peakBytes = Math.max(stats.peakBytes, tf.memory().numBytes - base);
  };
  const ctx: ExecContext = {
    resolveLeaf: checkLeaf,
    resolveConst: (n) => (typeof n.params.value === 'number' ? tf.scalar(n.params.value) : n.params.value),
    memoHit: (n) => n.params.store.get(n.params.key ?? n.inputs[0]),
    remember: (n, value) => n.params.store.set(n.params.key ?? n.inputs[0], tf.keep(tf.clone(value))),
  };
  // Borrowed values (sources) are never freed here; their owners free them.
  const release = (n: Node): void => {
    const t = values.get(n);
    if (t && owned.has(t)) {
      owned.delete(t);
      values.delete(n);
      t.dispose();
    }
  };
  try {
    for (const [i, node] of order.entries()) {
      let value: tf.Tensor;
      let borrowed = true;
      if (hits.has(node) && node.kind === 'memo') {
        value = ctx.memoHit(node) as tf.Tensor;
      } else if (node.kind === 'leaf' || (node.kind === 'const' && typeof node.params.value !== 'number')) {
        // Sources run outside tidy so the tensors they borrow are not re-tracked by tidy's scope.
        value = (execRules[node.kind] as ExecRuleAny)(node, [], ctx);
      } else {
        const inputs = node.inputs.map((x) => values.get(x) as tf.Tensor);
        value = tf.tidy(() => {
          const out = (execRules[node.kind] as ExecRuleAny)(node, inputs, ctx);
          poll();
          return out;
        });
        borrowed = false;
      }
      values.set(node, value);
      if (!borrowed) owned.add(value);
      if (stats) stats.steps++;
      poll();
      opts.onStep?.(node, value);
      freed[i].forEach(release);
    }
    // Hand each root over; a borrowed or repeated root is cloned so the caller always owns its tensor.
    return roots.map((r) => {
      const t = values.get(r) as tf.Tensor;
      if (owned.has(t)) {
        owned.delete(t);
        return t;
      }
      return tf.clone(t);
    });
  } catch (e) {
    for (const t of owned) t.dispose();
    owned.clear();
    throw e;
  }
}

type ExecRuleAny = (node: Node, inputs: tf.Tensor[], ctx: ExecContext) => tf.Tensor;

/** Runs `root` and returns its value as a tensor the caller owns, of `root.shape` and `root.dtype`. */
export function execute(root: Node, opts: ExecuteOptions = {}): tf.Tensor {
  return executeMany([root], opts)[0];
}

/** Runs a named set of roots together (shared subgraphs computed once); the caller owns every tensor, each of its root's `shape`. */
export function executeNamed<K extends string>(
  roots: Readonly<Record<K, Node>>,
  opts: ExecuteOptions = {},
): Record<K, tf.Tensor> {
  const names = Object.keys(roots) as K[];
  const values = executeMany(
    names.map((k) => roots[k]),
    opts,
  );
  return Object.fromEntries(names.map((k, i) => [k, values[i]])) as Record<K, tf.Tensor>;
}
