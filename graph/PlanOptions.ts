/**
 * One options object for the planner, with presets, so every entry point takes the same switches.
 * Each rule family can be switched off alone, which is how tests isolate a rule and how a user
 * debugs a suspicious plan.
 */
import { PlanError } from './errors.js';
import { rules, type RuleFlag } from './rules.js';

/** Which rewrites the planner may use, and its safety checks. */
export interface PlanOptions extends Readonly<Record<RuleFlag, boolean>> {
  /** Slices move below stacks, concats and elementwise ops, so only the kept part is computed. */
  readonly slicePushdown: boolean;
  /** `dot(stack(xs), v) -> stack(dot(x, v))`, and the same through concat, add, transpose, reshape and broadcast. */
  readonly dotPushdown: boolean;
  /** `dot(x / s, v) -> dot(x, v) / s`: a projection moves below an LN scale. */
  readonly dotThroughScale: boolean;
  /** `dot(center(x), v) -> dot(x, center(v))`: centering moves onto the direction. */
  readonly dotThroughCenter: boolean;
  /** `dot(a[..., n, None] * W_out[n, :], v) -> a[..., n] * (W_out v)[n]`: per-neuron results never reach d_model. */
  readonly neuronDot: boolean;
  /** `dot(einsum(z, W_O), v) -> einsum(z, W_O v)`: per-head results never reach d_model. */
  readonly headDot: boolean;
  /** `sum(stack(xs), axis) -> Σ x_i` (and through concat): components are summed without the stack. */
  readonly sumPushdown: boolean;
  /** `transpose(transpose(x, p), q) -> transpose(x, p∘q)`. */
  readonly simplify: boolean;
  /** Check each rewrite and the final plan keep shape, dtype, dims and labels (tests, debug). */
  readonly validate: boolean;
  /** Fall back to the naive graph if the plan's estimated peak bytes are higher. */
  readonly costGuard: boolean;
  /** Upper bound on rule firings, a guard against a rule pair that loops. */
  readonly maxRewrites: number;
}

const all: PlanOptions = Object.freeze({
  slicePushdown: true,
  dotPushdown: true,
  dotThroughScale: true,
  dotThroughCenter: true,
  neuronDot: true,
  headDot: true,
  sumPushdown: true,
  simplify: true,
  validate: false,
  costGuard: true,
  maxRewrites: 1_000_000,
});

// Every flag the rule table uses, read from the table so a new rule's flag cannot be missed here.
const ruleFlags: readonly RuleFlag[] = [...new Set(rules.map((r) => r.flag))];
const none: PlanOptions = Object.freeze({
  ...all,
  ...Object.fromEntries(ruleFlags.map((flag) => [flag, false])),
});

/** Presets and builders for {@link PlanOptions}. */
export const PlanOptions = {
  /** Every rule on: the default. */
  all: (): PlanOptions => all,
  /** No rule: the plan is the naive graph. */
  none: (): PlanOptions => ({ ...none }),
  /** The switch of every rule family in the rule table. */
  ruleFlags: (): readonly RuleFlag[] => ruleFlags,
  /** Only the given rule families on (e.g. `PlanOptions.only('dotPushdown')`). */
  only: (...flags: RuleFlag[]): PlanOptions => {
    const unknown = flags.filter((f) => !ruleFlags.includes(f));
    if (unknown.length > 0) {
      throw new PlanError(
        `PlanOptions.only: given ${unknown.map((f) => `'${String(f)}'`).join(', ')}, expected rule flags (${ruleFlags.join(', ')}).`,
      );
    }
    return { ...none, ...Object.fromEntries(flags.map((f) => [f, true])) };
  },
  /** The defaults with `overrides` applied. */
  with: (overrides: Partial<PlanOptions>): PlanOptions => {
    const unknown = Object.keys(overrides).filter((k) => !(k in all));
    if (unknown.length > 0) {
      throw new PlanError(
        `PlanOptions.with: given ${unknown.map((k) => `'${k}'`).join(', ')}, expected options (${Object.keys(all).join(', ')}).`,
      );
    }
    return { ...all, ...overrides };
  },
};
