/**
 * The hooks a model keeps between calls (TransformerLens's hooks added with `add_hook` or inside a
 * `hooks()` context), and each hook point's `ctx`. Every entry point of the model runs these before
 * the hooks of the call itself, as TransformerLens, where hooks at one point fire in the order they
 * were registered and a call's own hooks are registered after the lasting ones.
 */
import type { CompiledHooks, HookCtxSource, HookDirection, HookFn } from './hooks.js';

/** Options of {@link HookedTransformer.addHook}. */
export interface AddHookOptions {
  /** `'fwd'` (default): the hook sees the activation; `'bwd'`: it sees the metric's gradient there. */
  dir?: HookDirection;
  /** Survive `resetHooks()` unless it is given `includingPermanent: true` (TL's `is_permanent`). */
  perma?: boolean;
  /** Run before the hooks already at the point instead of after them (TL's `prepend`). */
  prepend?: boolean;
}

/** Options of {@link HookedTransformer.resetHooks}, as TransformerLens's `reset_hooks`. */
export interface ResetHooksOptions {
  /** Remove permanent hooks too. Default false. */
  includingPermanent?: boolean;
  /** Empty every hook point's `ctx`. Default true. */
  clearContexts?: boolean;
  /** Which hooks to remove: `'fwd'`, `'bwd'` or `'both'` (default). */
  direction?: HookDirection | 'both';
}

interface Entry {
  readonly match: (name: string) => boolean;
  readonly fn: HookFn;
  readonly dir: HookDirection;
  readonly perma: boolean;
  /** The `withHooks` scope that added it, or undefined for `addHook`. */
  readonly scope: number | undefined;
}

/** A model's lasting hooks and hook contexts. */
export class HookRegistry {
  private entries: Entry[] = [];
  private readonly contexts = new Map<string, Record<string, unknown>>();
  private nextScope = 1;

  /** Each hook point's `ctx`, created on first use and kept until {@link reset} clears it. */
  readonly ctxOf: HookCtxSource = (name) => {
    let c = this.contexts.get(name);
    if (!c) this.contexts.set(name, (c = {}));
    return c;
  };

  /** Adds a hook; returns a function that removes that hook alone. */
  add(
    match: (name: string) => boolean,
    fn: HookFn,
    options: { dir: HookDirection; perma: boolean; prepend?: boolean },
    scope?: number,
  ): () => void {
    const entry: Entry = { match, fn, dir: options.dir, perma: options.perma, scope };
    this.entries = options.prepend ? [entry, ...this.entries] : [...this.entries, entry];
    return () => {
      this.entries = this.entries.filter((e) => e !== entry);
    };
  }

  /** The hooks of one direction, in the order they run. */
  hooks(dir: HookDirection): CompiledHooks {
    return this.entries.filter((e) => e.dir === dir).map((e) => [e.match, e.fn] as const);
  }

  /** How many hooks are installed (for tests and `toString`-like summaries). */
  count(dir?: HookDirection): number {
    return dir === undefined ? this.entries.length : this.entries.filter((e) => e.dir === dir).length;
  }

  /** Removes hooks as TransformerLens's `reset_hooks`. */
  reset(options: ResetHooksOptions = {}): void {
    const { includingPermanent = false, clearContexts = true, direction = 'both' } = options;
    this.entries = this.entries.filter(
      (e) => (direction !== 'both' && e.dir !== direction) || (e.perma && !includingPermanent),
    );
    if (clearContexts) this.contexts.clear();
  }

  /**
   * Runs `body` with `fwd` and `bwd` installed, removing exactly them afterwards, even when `body`
   * throws; scopes nest, an inner scope's hooks running after the outer's.
   */
  async scoped<T>(fwd: CompiledHooks, bwd: CompiledHooks, body: () => Promise<T>): Promise<T> {
    const scope = this.nextScope++;
    for (const [match, fn] of fwd) this.add(match, fn, { dir: 'fwd', perma: false }, scope);
    for (const [match, fn] of bwd) this.add(match, fn, { dir: 'bwd', perma: false }, scope);
    try {
      return await body();
    } finally {
      this.entries = this.entries.filter((e) => e.scope !== scope);
    }
  }
}
