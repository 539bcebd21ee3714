/**
 * The planner's driver: applies the rule table bottom-up to a fixed point with an explicit
 * stack (no recursion: a full neuron decomposition has ~37k components), records which rule fired
 * where, and keeps the naive graph when the plan would not lower the estimated peak bytes.
 */
import { estimate, type GraphCost } from './cost.js';
import { PlanError } from './errors.js';
import { make, rename } from './factory.js';
import type { Kind, Node } from './node.js';
import { match } from './pattern.js';
import { PlanOptions } from './PlanOptions.js';
import { rules, type Rule } from './rules.js';
import { signatureDiff, validatePlan } from './validate.js';

/** One rule application: `rule` rewrote `before` into `after`. */
export interface Firing {
  /** Name of the rule that fired. */
  readonly rule: string;
  /** The node the rule matched. */
  readonly before: Node;
  /** What the rule replaced it with. */
  readonly after: Node;
}

/** The outcome of planning one graph. */
export interface Plan {
  /** The graph as built, before any rewrite. */
  readonly naive: Node;
  /** The graph to run: the rewritten one, or `naive` when the cost guard fell back. */
  readonly root: Node;
  /** The rewritten graph, even when it was not chosen. */
  readonly rewritten: Node;
  /** Every rule firing, in order. */
  readonly fired: readonly Firing[];
  /** The rule that produced each node of the rewritten graph that a rule produced. */
  readonly origin: ReadonlyMap<Node, string>;
  /** Estimated cost of running the naive graph. */
  readonly naiveCost: GraphCost;
  /** Estimated cost of running `rewritten`. */
  readonly plannedCost: GraphCost;
  /** True when the rewritten graph's estimated peak was higher and the naive graph was kept. */
  readonly fellBack: boolean;
}

// Rules indexed by the kind they match at the root, so each node only tries rules that can fire.
const byRoot = new Map<Kind, Rule[]>();
for (const r of rules) byRoot.set(r.root, [...(byRoot.get(r.root) ?? []), r]);

function rebuild(n: Node, inputs: readonly Node[]): Node {
  return make(n.kind, inputs, n.params) as Node;
}

/**
 * Rewrites `root` to a fixed point of the enabled rules. This is a work list rather than a walk of a
 * fixed graph (so not `topoOrder`): each firing adds a new subgraph that must itself reach its fixed
 * point before the node waiting on it is done. Its order is the order `explain()` lists firings in.
 */
export function rewrite(
  root: Node,
  opts: PlanOptions = PlanOptions.all(),
): {
  /** The graph at the fixed point. */
  root: Node;
  /** Every rule firing, in order. */
  fired: Firing[];
  /** The rule that produced each rewritten node. */
  origin: Map<Node, string>;
} {
  const done = new Map<Node, Node>(); // node -> its normal form
  const waiting = new Map<Node, Node>(); // node -> the rewrite whose normal form it takes
  const fired: Firing[] = [];
  // Which rule produced a node; kept when the node is later rebuilt over rewritten inputs.
  const origin = new Map<Node, string>();
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const n = stack[stack.length - 1];
    if (done.has(n)) {
      stack.pop();
      continue;
    }
    const target = waiting.get(n);
    if (target) {
      const t = done.get(target);
      if (t) {
        done.set(n, t);
        stack.pop();
      } else stack.push(target);
      continue;
    }
    const pending = n.inputs.filter((x) => !done.has(x));
    if (pending.length > 0) {
      stack.push(...pending);
      continue;
    }
    const inputs = n.inputs.map((x) => done.get(x) as Node);
    const m = inputs.some((x, i) => x !== n.inputs[i]) ? rebuild(n, inputs) : n;
    const from = origin.get(n);
    if (from && m !== n && !origin.has(m)) origin.set(m, from);
    if (m !== n && done.has(m)) {
      done.set(n, done.get(m) as Node);
      stack.pop();
      continue;
    }
    const r = applyOnce(m, opts, fired);
    if (r && !origin.has(r)) origin.set(r, fired[fired.length - 1].rule);
    if (r === undefined) {
      done.set(n, m);
      done.set(m, m);
      stack.pop();
    } else {
      if (fired.length > opts.maxRewrites) {
        throw new PlanError(
          `planner: given ${fired.length} rewrites, expected at most ${opts.maxRewrites} (do two rules loop?).`,
        );
      }
      waiting.set(n, r);
      if (m !== n) waiting.set(m, r);
      stack.push(r);
    }
  }
  // The root keeps the naive root's dim names and labels, whatever names the rewrites inferred.
  return { root: rename(done.get(root) as Node, root.dims, root.labels), fired, origin };
}

// The first enabled rule whose pattern matches at `n` and that fires. Names are best-effort inside a
// plan (a rewrite may name a dim differently); a shape or dtype change, though, is a bug in the rule
// and throws.
function applyOnce(n: Node, opts: PlanOptions, fired: Firing[]): Node | undefined {
  for (const r of byRoot.get(n.kind) ?? []) {
    if (!opts[r.flag]) continue;
    const captures = match(r.pattern, n);
    const out = captures && r.rewrite(captures);
    if (out === undefined || out === n) continue;
    const diff = signatureDiff(n, out);
    if (diff && (diff.startsWith('shape') || diff.startsWith('dtype'))) {
      throw new PlanError(`rule ${r.name}: given a ${n.kind} node, expected the same signature but ${diff}.`);
    }
    fired.push({ rule: r.name, before: n, after: out });
    return out;
  }
  return undefined;
}

/** Debug mode (`LAZYLENS_DEBUG=1`) validates every plan, as tests do. */
function debugMode(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.LAZYLENS_DEBUG === '1';
}

/**
 * Plans `root`: rewrites it, validates (when asked), estimates both graphs and keeps the naive one if
 * the plan's estimated peak bytes are higher.
 */
export function plan(root: Node, opts: PlanOptions = PlanOptions.all()): Plan {
  const { root: rewritten, fired, origin } = rewrite(root, opts);
  if (opts.validate || debugMode()) validatePlan(root, rewritten);
  const naiveCost = estimate([root]);
  const plannedCost = rewritten === root ? naiveCost : estimate([rewritten]);
  const fellBack = opts.costGuard && plannedCost.peakBytes > naiveCost.peakBytes;
  return {
    naive: root,
    root: fellBack ? root : rewritten,
    rewritten,
    fired,
    origin,
    naiveCost,
    plannedCost,
    fellBack,
  };
}
