/**
 * Introspection: stable text for plans, so a user can see why a plan looks as it does. Nodes are
 * numbered by their position in the executor's order (not by creation id), so the same graph always
 * prints the same way and tests can snapshot it. `toDot()` gives the same graph as Graphviz text.
 */
import { ANON, bytesOf, byKind, topoOrder, type KindTable, type Node } from './node.js';
import type { Plan } from './planner.js';

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Human units for a byte count: `512 B`, `3.0 KiB`, `1.5 MiB`, `2.00 GiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const none = (): string => '';
/** What each kind prints between its name and its inputs (exhaustive: a new kind cannot be forgotten). */
export const printRules: KindTable<string> = {
  leaf: (n) => ` '${n.params.name}' from ${n.params.source.label}`,
  const: (n) => (typeof n.params.value === 'number' ? ` ${n.params.value}` : ' tensor'),
  slice: (n) => ` dim=${n.params.dim} [${n.params.slice.toString()}]`,
  stack: (n) => ` axis=${n.params.axis} dim=${n.params.dim}`,
  concat: (n) => ` axis=${n.params.axis}`,
  center: none,
  scale: none,
  layerNorm: (n) => ` ${n.params.variant} eps=${n.params.eps}`,
  dot: none,
  mul: none,
  add: none,
  sub: none,
  einsum: (n) => ` '${n.params.spec}'`,
  sum: (n) => ` axes=[${n.params.axes.join(', ')}]${n.params.keepDims ? ' keepDims' : ''}`,
  mean: (n) => ` axes=[${n.params.axes.join(', ')}]${n.params.keepDims ? ' keepDims' : ''}`,
  reshape: none,
  transpose: (n) => ` perm=[${n.params.perm.join(', ')}]`,
  broadcast: none,
  rename: (n) => ` (${n.params.dims.map((d) => d || '_').join(', ')})`,
  memo: (n) => ` in ${n.params.store.label}`,
};

/** Options for {@link formatGraph}. */
export interface FormatOptions {
  /** Rule name per node, appended as `<- rule`. */
  readonly origin?: ReadonlyMap<Node, string>;
  /** Elide runs of more than this many consecutive same-kind inputs (wide stacks stay readable). */
  readonly maxInputs?: number;
}

/** One line per node in executor order: `%3 = dot(%1, %2)  [4, 64] (batch, pos)  1.0 KiB`. */
export function formatGraph(root: Node, opts: FormatOptions = {}): string {
  const order = topoOrder([root]);
  const num = new Map(order.map((n, i) => [n, i]));
  const max = opts.maxInputs ?? 8;
  return order
    .map((n) => {
      let ins = n.inputs.map((x) => `%${num.get(x)}`);
      if (ins.length > max)
        ins = [...ins.slice(0, max - 2), `…${ins.length - max + 1} more…`, ins[ins.length - 1]];
      const dims = n.dims.map((d) => (d === ANON ? '_' : d)).join(', ');
      const labels = n.labels ? ` labels=${n.labels.length}` : '';
      const origin = opts.origin?.get(n);
      const tail = origin ? `  <- ${origin}` : '';
      const args = ins.length > 0 ? `(${ins.join(', ')})` : '';
      return `%${num.get(n)} = ${n.kind}${byKind(printRules, n)}${args}  ${shapeText(n.shape)} (${dims}) ${n.dtype} ${formatBytes(bytesOf(n))}${labels}${tail}`;
    })
    .join('\n');
}

/** The full explanation of a plan: both graphs with costs, and which rule fired where. */
export function explainPlan(p: Plan, opts: FormatOptions = {}): string {
  const counts = new Map<string, number>();
  for (const f of p.fired) counts.set(f.rule, (counts.get(f.rule) ?? 0) + 1);
  const cost = (c: { peakBytes: number; flops: number; nodes: number }): string =>
    `${c.nodes} nodes, est. peak ${formatBytes(c.peakBytes)}, ${c.flops} FLOPs`;
  const lines = [
    `== naive plan: ${cost(p.naiveCost)} ==`,
    formatGraph(p.naive, opts),
    `== planned plan: ${cost(p.plannedCost)}${p.fellBack ? ' (higher peak: naive plan kept)' : ''} ==`,
    formatGraph(p.rewritten, { ...opts, origin: p.origin }),
    `== rules fired: ${p.fired.length} ==`,
    ...[...counts].map(([rule, k]) => `${rule} x${k}`),
    ...p.fired
      .slice(0, 20)
      .map(
        (f, i) =>
          `#${i + 1} ${f.rule}: ${f.before.kind} ${shapeText(f.before.shape)} -> ${f.after.kind} ${shapeText(f.after.shape)}`,
      ),
  ];
  if (p.fired.length > 20) lines.push(`… ${p.fired.length - 20} more firings`);
  return lines.join('\n');
}

/** Graphviz text for a graph; node labels carry kind, params, shape and bytes. */
export function toDot(root: Node): string {
  const order = topoOrder([root]);
  const num = new Map(order.map((n, i) => [n, i]));
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines = ['digraph lazylens {', '  rankdir=BT;', '  node [shape=box, fontname="monospace"];'];
  for (const n of order) {
    const label = `${n.kind}${byKind(printRules, n)}\\n${shapeText(n.shape)} ${formatBytes(bytesOf(n))}`;
    lines.push(`  n${num.get(n)} [label="${esc(label).replace(/\\\\n/g, '\\n')}"];`);
    for (const x of n.inputs) lines.push(`  n${num.get(x)} -> n${num.get(n)};`);
  }
  lines.push('}');
  return lines.join('\n');
}
