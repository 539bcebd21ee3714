/**
 * Declarative rule patterns: a pattern names the node kinds a rule needs at its root and below it,
 * and gives each matched node a name. {@link match} checks a node against a pattern and returns the
 * named nodes, so a rule only builds its replacement from them. Below the root, a kind test sees
 * through a memo that holds nothing yet (see {@link peel}).
 */
import type { Kind, Node, NodeOf } from './node.js';

/** The nodes a pattern captured, by name. */
export type Captures = Readonly<Record<string, Node>>;

/** The node of one of the kinds `K` (a union of `NodeOf`, so narrowing on `kind` narrows `params`). */
export type NodeOfAny<K extends Kind> = K extends Kind ? NodeOf<K> : never;

/** A pattern over a node and its inputs; `C` types the captures it produces. */
export interface Pattern<C extends Captures = Captures> {
  /** The kinds the node may have; undefined for any kind. */
  readonly kinds: ReadonlySet<Kind> | undefined;
  /** The name the matched node is captured under. */
  readonly name: string;
  /** Patterns for the node's first inputs, in order; inputs past the last are not looked at. */
  readonly inputs: readonly Pattern[];
  /** Whether a kind test below the root sees through an empty memo (true unless built with `exact`). */
  readonly peel: boolean;
  /** Type-level only: what the pattern captures. */
  readonly captures?: C;
}

type CapturesOf<P> = P extends Pattern<infer C> ? C : never;
type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** The captures of all `Ps` together. */
type AllCaptures<Ps extends readonly Pattern[]> = Intersect<CapturesOf<Ps[number]>>;

function names(p: Pattern, into: Set<string>): Set<string> {
  if (into.has(p.name)) {
    throw new TypeError(`pattern: given the capture name '${p.name}' twice, expected distinct names.`);
  }
  into.add(p.name);
  for (const x of p.inputs) names(x, into);
  return into;
}

/**
 * A node of one of `kinds`, captured as `name`, whose first inputs match `inputs` in order.
 * @example
 * // slice(stack(...)): the slice as `n`, the stack below it as `st`
 * is('slice', 'n', is('stack', 'st'))
 */
export function is<K extends Kind, N extends string, const Ps extends readonly Pattern[]>(
  kinds: K | readonly K[],
  name: N,
  ...inputs: Ps
): Pattern<{ readonly [P in N]: NodeOfAny<K> } & AllCaptures<Ps>> {
  const p: Pattern = {
    kinds: new Set<Kind>(typeof kinds === 'string' ? [kinds] : kinds),
    name,
    inputs,
    peel: true,
  };
  names(p, new Set());
  // The captures' types are only known statically: `match` fills them from this structure.
  return p as Pattern<{ readonly [P in N]: NodeOfAny<K> } & AllCaptures<Ps>>;
}

/** Any node, captured as `name` as it is (never peeled). */
export function any<N extends string>(name: N): Pattern<{ readonly [P in N]: Node }> {
  return { kinds: undefined, name, inputs: [], peel: false };
}

/** `p`, except that its kind test does not see through an empty memo. */
export function exact<C extends Captures>(p: Pattern<C>): Pattern<C> {
  return { ...p, peel: false };
}

/**
 * Sees through a memo node that holds nothing yet: pushing work into it is cheaper than filling it.
 * A memo that already holds its value stays opaque, so the stored tensor is reused.
 */
export function peel(x: Node): Node {
  if (x.kind !== 'memo' || x.params.store.disposed) return x;
  return x.params.store.get(x.params.key ?? x.inputs[0]) ? x : x.inputs[0];
}

// Fills `out` with the captures of `p` at `node`; false when the node does not match.
function matchInto(p: Pattern, node: Node, out: Record<string, Node>, root: boolean): boolean {
  if (p.kinds === undefined) {
    out[p.name] = node;
    return true;
  }
  const n = !root && p.peel ? peel(node) : node;
  if (!p.kinds.has(n.kind) || n.inputs.length < p.inputs.length) return false;
  out[p.name] = n;
  return p.inputs.every((q, i) => matchInto(q, n.inputs[i], out, false));
}

/** The captures of `pattern` at `node` (the root is never peeled), or undefined when it does not match. */
export function match<C extends Captures>(pattern: Pattern<C>, node: Node): C | undefined {
  const out: Record<string, Node> = {};
  return matchInto(pattern, node, out, true) ? (out as C) : undefined;
}
