/**
 * Hook registration for a forward pass: which user functions run at which hook point, and which
 * activations are cached. Names are checked against the model's hook points up front, so a typo
 * fails before any compute with the nearest names suggested.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveHookName } from '../core/hookKey.js';
import { InvalidArgumentError, UnknownKeyError } from '../errors.js';

/** Context passed to a hook function. */
export interface HookContext {
  /** The full hook name, e.g. `blocks.0.attn.hook_z`. */
  name: string;
  /** The block the hook point belongs to, or undefined for top-level hooks. */
  layer: number | undefined;
  /**
   * Scratch space of this hook point (TransformerLens's `hook.ctx`): the same object on every
   * call and for every hook at the point, until `model.resetHooks()` clears it.
   */
  ctx: Record<string, unknown>;
}

/** Whether a hook runs on the forward pass (sees the activation) or the backward pass (sees its gradient). */
export type HookDirection = 'fwd' | 'bwd';

/**
 * A forward hook: sees the activation; returning a tensor replaces it downstream (patching),
 * returning nothing leaves it. A returned tensor keeps its owner: the model never disposes it.
 */
export type HookFn = (activation: tf.Tensor, ctx: HookContext) => tf.Tensor | void | undefined;

/** Which hook points a hook or filter applies to: a name (full or shorthand), names, or a predicate. */
export type NameMatcher = string | readonly string[] | ((name: string) => boolean);

/** Hooks after name matching: a predicate over hook names and the function to call. */
export type CompiledHooks = readonly (readonly [(name: string) => boolean, HookFn])[];

/** Where a pass finds each hook point's `ctx`; a fresh object per point and pass when the model keeps none. */
export type HookCtxSource = (name: string) => Record<string, unknown>;

/** A fresh `ctx` per hook point for one pass (a pass without a model's persistent contexts). */
export function passLocalCtx(): HookCtxSource {
  const contexts = new Map<string, Record<string, unknown>>();
  return (name) => {
    let c = contexts.get(name);
    if (!c) contexts.set(name, (c = {}));
    return c;
  };
}

/**
 * The emit function of a pass: at each hook point, calls the matching hooks in order, each seeing
 * the activation as the hooks before it left it; a returned tensor replaces the activation.
 */
export function dispatchHooks(
  hooks: CompiledHooks,
  ctxOf: HookCtxSource,
): (name: string, x: tf.Tensor) => tf.Tensor {
  return (name, x) => {
    let a = x;
    let hookCtx: HookContext | undefined;
    for (const [match, fn] of hooks) {
      if (!match(name)) continue;
      hookCtx ??= { name, layer: hookLayer(name), ctx: ctxOf(name) };
      const r = fn(a, hookCtx);
      if (r !== undefined && r !== null) {
        checkHookReplacement(name, a, r);
        a = r;
      }
    }
    return a;
  };
}

/** Resolves a matcher to a predicate over the model's hook names; unknown names are an error. */
export function compileMatcher(
  matcher: NameMatcher,
  hookNames: readonly string[],
  what: string,
): (name: string) => boolean {
  if (typeof matcher === 'function') return matcher;
  const list: readonly string[] = typeof matcher === 'string' ? [matcher] : matcher;
  if (!Array.isArray(matcher) && typeof matcher !== 'string') {
    throw new InvalidArgumentError(
      `${what} must be a hook name, a list of names or a predicate; given ${typeof matcher}.`,
    );
  }
  const known = new Set(hookNames);
  const wanted = new Set<string>();
  for (const raw of list) {
    const name = resolveHookName(raw, (n) => known.has(n));
    if (!known.has(name)) throw new UnknownKeyError(raw, hookNames, `hook name in ${what}`);
    wanted.add(name);
  }
  return (name) => wanted.has(name);
}

/** The layer a hook name belongs to, from its `blocks.L.` prefix. */
export function hookLayer(name: string): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** @throws InvalidArgumentError unless a hook's return value `r` can replace `old`: a live tensor of its dtype and shape. */
export function checkHookReplacement(name: string, old: tf.Tensor, r: unknown): void {
  if (!(r instanceof tf.Tensor)) {
    throw new InvalidArgumentError(
      `The hook at '${name}' returned ${typeof r}; expected a tf.Tensor or nothing.`,
    );
  }
  const t = r as tf.Tensor;
  if (t.isDisposed) {
    throw new InvalidArgumentError(
      `The hook at '${name}' returned a disposed tensor; expected a live tensor (keep it with tf.keep, or clone it, if it was made inside tf.tidy).`,
    );
  }
  if (t.dtype !== old.dtype) {
    throw new InvalidArgumentError(
      `The hook at '${name}' returned dtype ${t.dtype}; expected ${old.dtype}, the activation's dtype (cast it with tf.cast).`,
    );
  }
  const shape: number[] = t.shape;
  if (shape.join() !== old.shape.join()) {
    throw new InvalidArgumentError(
      `The hook at '${name}' returned shape [${shape.join(', ')}]; expected [${old.shape.join(', ')}].`,
    );
  }
}
