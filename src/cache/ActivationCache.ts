/**
 * The activations of one forward pass, under TransformerLens's hook names.
 *
 * The cache owns its tensors until {@link ActivationCache.dispose}; `get` returns the stored
 * tensor (do not dispose it). Methods that would change the cache return a new one instead.
 */
import * as tf from '@tensorflow/tfjs';
import * as g from '../../graph/index.js';
import { takeIndices } from '../../graph/takeRun.js';
import { selectBackend, type BackendName } from '../backend/index.js';
import { BatchDimError, LazylensError, UnknownKeyError } from '../errors.js';
import { accumulatedResid, type AccumulatedResidOptions } from './methods/accumulatedResid.js';
import { applyLnToStack, type ApplyLnOptions } from './methods/applyLnToStack.js';
import { CacheGraph, type ActivationSource } from './CacheGraph.js';
import { decomposeResid, type DecomposeResidOptions } from './methods/decomposeResid.js';
import { resolveHookKey, type CacheKey } from '../core/hookKey.js';
import {
  getFullResidDecomposition,
  type FullResidDecompositionOptions,
} from './methods/getFullResidDecomposition.js';
import { getNeuronResults, type GetNeuronResultsOptions } from './methods/getNeuronResults.js';
import { computeHeadResults } from './headResults.js';
import type { LensModel } from './LensModel.js';
import { logitAttrs, type LogitAttrsOptions, type TokensArg } from './methods/logitAttrs.js';
import { stackActivation, type StackActivationOptions } from './methods/stackActivation.js';
import { stackHeadResults, type StackHeadResultsOptions } from './methods/stackHeadResults.js';
import { stackNeuronResults, type StackNeuronResultsOptions } from './methods/stackNeuronResults.js';

/** `returnLabels: true` makes a stack method return `[lazy, labels]`, as TransformerLens's tuple. */
export interface ReturnLabels {
  /** Return `[lazy, labels]` instead of the `Lazy` alone. */
  returnLabels?: boolean;
}

type WithLabels<O> = O & { returnLabels: true };
type Labelled = [g.Lazy, string[]];

function withLabels(lazy: g.Lazy, returnLabels: boolean | undefined): g.Lazy | Labelled {
  return returnLabels ? [lazy, [...(lazy.labels ?? [])]] : lazy;
}

/**
 * The activations of one forward pass under TransformerLens's hook names, as returned by
 * {@link HookedTransformer.runWithCache}. `get` and iteration give the stored tensors (eager, owned
 * by the cache); the analysis methods (`decomposeResid`, `logitAttrs`, `stackHeadResults`, …) return
 * a `Lazy` that runs only when materialized. Immutable: `removeBatchDim` and `applySliceToBatchDim`
 * return new caches. Call {@link ActivationCache.dispose} when done.
 */
export class ActivationCache implements Iterable<string>, ActivationSource {
  private readonly dict: Map<string, tf.Tensor>;
  private wasDisposed = false;
  private readonly graph: CacheGraph;
  /** Names the cache in errors from the lazy graph. */
  readonly label = 'ActivationCache';

  /**
   * @param cacheDict hook name → tensor; the cache takes ownership.
   * @param model the model that produced it (its config and weights serve the analysis methods).
   * @param hasBatchDim whether dim 0 of every tensor is the batch.
   */
  constructor(
    cacheDict: Map<string, tf.Tensor>,
    readonly model: LensModel,
    readonly hasBatchDim = true,
  ) {
    this.dict = cacheDict;
    this.graph = new CacheGraph(this, model);
  }

  /**
   * For the lazy graph: the tensor under a full hook name (the cache keeps ownership).
   * @param name a full hook name (`blocks.0.hook_resid_pre`).
   */
  resolve(name: string): tf.Tensor | undefined {
    return this.wasDisposed ? undefined : this.dict.get(name);
  }

  /** Whether `hook_embed` was cached. */
  get hasEmbed(): boolean {
    return this.dict.has('hook_embed');
  }

  /** Whether `hook_pos_embed` was cached (false for rotary models). */
  get hasPosEmbed(): boolean {
    return this.dict.has('hook_pos_embed');
  }

  /** Number of cached activations. */
  get size(): number {
    return this.dict.size;
  }

  /**
   * The full hook name `key` refers to (without checking that it is cached).
   * @param key a full name, a shorthand (`'k0'`) or a `[name, layer, layerType?]` tuple.
   */
  resolveKey(key: CacheKey): string {
    return resolveHookKey(key, this.model.cfg.nLayers, (name) => this.dict.has(name));
  }

  /**
   * The activation stored under `key`, owned by the cache (do not dispose it).
   * @param key a full name, a shorthand (`'k0'`) or a `[name, layer, layerType?]` tuple.
   * @returns the tensor with its hook point's dims (see {@link HOOK_DIMS}): e.g. `resid_pre`
   *   [batch, pos, d_model], `pattern` [batch, head, query, key], `z` [batch, pos, head, d_head];
   *   without the batch dim after `removeBatchDim`, and with fewer positions after a `posSlice`.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const { cache, logits } = await model.runWithCache('cat dog tree');
   * cache.get('blocks.0.hook_resid_pre');      // full name
   * cache.get(['resid_pre', -1]);              // tuple, last layer
   * cache.get('k0');                           // shorthand → blocks.0.attn.hook_k
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   * @throws UnknownKeyError naming the three nearest cached names.
   */
  get(key: CacheKey): tf.Tensor {
    this.assertLive();
    const name = this.resolveKey(key);
    const t = this.dict.get(name);
    if (!t) throw new UnknownKeyError(name, this.dict.keys(), 'cache key');
    return t;
  }

  /**
   * Whether `key` resolves to a cached activation.
   * @param key a full name, a shorthand (`'k0'`) or a `[name, layer, layerType?]` tuple.
   */
  has(key: CacheKey): boolean {
    try {
      return this.dict.has(this.resolveKey(key));
    } catch {
      return false;
    }
  }

  /** The cached hook names, in the order the forward pass fired them (a fresh array each call). */
  keys(): string[] {
    return [...this.dict.keys()];
  }

  /** The cached tensors, in key order (owned by the cache: do not dispose them). */
  values(): tf.Tensor[] {
    this.assertLive();
    return [...this.dict.values()];
  }

  /** `[hook name, tensor]` pairs in key order (the tensors stay owned by the cache). */
  items(): [string, tf.Tensor][] {
    this.assertLive();
    return [...this.dict.entries()];
  }

  /** Iterates the hook names, as iterating TransformerLens's cache (a dict) does; see {@link items} for pairs. */
  [Symbol.iterator](): IterableIterator<string> {
    return this.keys()[Symbol.iterator]();
  }

  /** `ActivationCache with keys [...]`, as TransformerLens's repr. */
  toString(): string {
    return `ActivationCache with keys [${[...this.dict.keys()].map((k) => `'${k}'`).join(', ')}]`;
  }

  /** Whether {@link dispose} has run. */
  get isDisposed(): boolean {
    return this.wasDisposed;
  }

  /** Same as {@link isDisposed}; read by the lazy graph to refuse materializing over freed tensors. */
  get disposed(): boolean {
    return this.wasDisposed;
  }

  /** Frees every tensor the cache owns, and its memoized head results. Safe to call twice. */
  dispose(): void {
    if (this.wasDisposed) return;
    for (const t of this.dict.values()) t.dispose();
    this.graph.memo.dispose();
    this.dict.clear();
    this.wasDisposed = true;
  }

  // ---- analysis: each returns a Lazy (nothing runs until it is materialized) ----

  /**
   * The residual stream before each block (and `final_post`), for the logit lens.
   * @param options which layers, positions and normalization (see {@link AccumulatedResidOptions});
   *   `returnLabels: true` returns `[lazy, labels]`.
   * @returns Lazy `[layers_covered, *batch_and_pos, d_model]`, labels `0_pre`, `0_mid`, …, `final_post`.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const { cache, logits } = await model.runWithCache('cat dog tree sun cat dog tree');
   * const lens = cache.accumulatedResid({ applyLn: true, posSlice: -1 });
   * lens.labels;                                   // ['0_pre', '1_pre', 'final_post']
   * // [3, 1, d_vocab]: each layer's residual read as logits
   * const perLayer = await lens.einsum('...d,dv->...v', model.W_U).array();
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  accumulatedResid(options: WithLabels<AccumulatedResidOptions>): Labelled;
  accumulatedResid(options?: AccumulatedResidOptions & ReturnLabels): g.Lazy;
  accumulatedResid(options: AccumulatedResidOptions & ReturnLabels = {}): g.Lazy | Labelled {
    this.assertLive();
    return withLabels(accumulatedResid(this.graph, options), options.returnLabels);
  }

  /**
   * How much each component of `residualStack` pushes the logit of `tokens` (minus `incorrectTokens`),
   * through the final LN's cached scale.
   * @param residualStack a stack `[components, *batch_and_pos, d_model]` (e.g. from `decomposeResid`).
   * @param tokens the token whose logit is attributed: a single-token string, an id, or ids
   *   `[batch]` / `[batch, pos]` (read a token tensor with `await t.array()` first).
   * @param options `incorrectTokens` for a logit difference, and the stack's slices (see {@link LogitAttrsOptions}).
   * @returns Lazy `[components, *batch_and_pos]` (the stack's shape without d_model).
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
   * const { cache, logits } = await model.runWithCache('cat dog tree sun cat dog tree');
   * const stack = cache.decomposeResid({ posSlice: -1 });
   * const attrs = cache.logitAttrs(stack, 'sun', { posSlice: -1 });
   * attrs.shape;                                   // [6, 1]: embed, pos_embed, 2 × (attn, mlp)
   * await attrs.array();
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  logitAttrs(residualStack: g.Lazy, tokens: TokensArg, options: LogitAttrsOptions = {}): g.Lazy {
    this.assertLive();
    return logitAttrs(this.graph, residualStack, tokens, options);
  }

  /**
   * The residual stream entering a block, split into embeddings and each earlier sublayer's output.
   * @param options layer, `mode`, `mlpInput`, positions and normalization (see {@link DecomposeResidOptions});
   *   `returnLabels: true` returns `[lazy, labels]`.
   * @returns Lazy `[components, *batch_and_pos, d_model]`, labels `embed`, `pos_embed`, `0_attn_out`, `0_mlp_out`, ….
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * const [stack, labels] = cache.decomposeResid({ layer: 1, returnLabels: true });
   * labels;                                        // ['embed', 'pos_embed', '0_attn_out', '0_mlp_out']
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  decomposeResid(options: WithLabels<DecomposeResidOptions>): Labelled;
  decomposeResid(options?: DecomposeResidOptions & ReturnLabels): g.Lazy;
  decomposeResid(options: DecomposeResidOptions & ReturnLabels = {}): g.Lazy | Labelled {
    this.assertLive();
    return withLabels(decomposeResid(this.graph, options), options.returnLabels);
  }

  /**
   * Materializes every head's output (`z · W_O` per head) once and memoizes it beside the cache
   * (the dict itself is not changed). Stacks built afterwards read the memo. Idempotent.
   */
  computeHeadResults(): void {
    this.assertLive();
    computeHeadResults(this.graph);
  }

  /**
   * Every head of the blocks before `layer` as one stack (per-head `z · W_O`, without `b_O`).
   * @param options layer, `inclRemainder`, positions and normalization (see {@link StackHeadResultsOptions});
   *   `returnLabels: true` returns `[lazy, labels]`.
   * @returns Lazy `[layer·n_heads (+1), *batch_and_pos, d_model]`, labels `L0H0`, …, `remainder`.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * const heads = cache.stackHeadResults({ inclRemainder: true });
   * heads.labels?.length;                          // 2 layers × 4 heads + remainder = 9
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  stackHeadResults(options: WithLabels<StackHeadResultsOptions>): Labelled;
  stackHeadResults(options?: StackHeadResultsOptions & ReturnLabels): g.Lazy;
  stackHeadResults(options: StackHeadResultsOptions & ReturnLabels = {}): g.Lazy | Labelled {
    this.assertLive();
    return withLabels(stackHeadResults(this.graph, options), options.returnLabels);
  }

  /**
   * One activation of every block before `layer`, stacked (e.g. every `resid_pre`).
   * @param activationName a name getActName accepts (`'resid_pre'`, `'pattern'`, …).
   * @param options layer and sublayer type (see {@link StackActivationOptions}).
   * @returns Lazy `[layer, ...activation shape]`; layer 0 gives an empty stack shaped like block 0's activation.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * // [2, 1, 4, 3, 3]: layers × [batch, head, query, key] (BOS, 'the', 'cat')
   * cache.stackActivation('pattern').shape;
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  stackActivation(activationName: string, options: StackActivationOptions = {}): g.Lazy {
    this.assertLive();
    return stackActivation(this.graph, activationName, options);
  }

  /**
   * One block's per-neuron contributions (`post[n] · W_out[n]`).
   * @param layer the block, in [0, n_layers).
   * @param options neurons, positions and projection (see {@link GetNeuronResultsOptions}).
   * @returns Lazy `[*batch_and_pos, neurons, d_model]` (the neuron dim is dropped for an integer
   *   `neuronSlice`; d_model becomes k or is dropped with `projectOutputOnto`).
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * const first10 = cache.getNeuronResults(0, { neuronSlice: { stop: 10 }, posSlice: -1 });
   * first10.shape;                                 // [1, 10, 128]: batch, neurons, d_model
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  getNeuronResults(layer: number, options: GetNeuronResultsOptions = {}): g.Lazy {
    this.assertLive();
    return getNeuronResults(this.graph, layer, options);
  }

  /**
   * Every MLP neuron of the blocks before `layer` as one stack.
   * @param layer neurons of blocks [0, layer); undefined/−1: all blocks.
   * @param options neurons, positions, `inclRemainder`, normalization and projection (see
   *   {@link StackNeuronResultsOptions}); `returnLabels: true` returns `[lazy, labels]`.
   * @returns Lazy `[layer·neurons (+1), *batch_and_pos, d_model]` (d_model becomes k or is dropped
   *   with `projectOutputOnto`), labels `L0N0`, …, `remainder`.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * const neurons = cache.stackNeuronResults(2, { posSlice: -1 });
   * neurons.shape;                                 // [512, 1, 128]: 2 blocks × 256 neurons
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  stackNeuronResults(
    layer: number | null | undefined,
    options: WithLabels<StackNeuronResultsOptions>,
  ): Labelled;
  stackNeuronResults(layer?: number | null, options?: StackNeuronResultsOptions & ReturnLabels): g.Lazy;
  stackNeuronResults(
    layer?: number | null,
    options: StackNeuronResultsOptions & ReturnLabels = {},
  ): g.Lazy | Labelled {
    this.assertLive();
    return withLabels(stackNeuronResults(this.graph, layer, options), options.returnLabels);
  }

  /**
   * Each component of a residual stack through the normalization that reads it, with the cached
   * scale (or, with `recomputeLn` at the final layer, the real `ln_final` per component).
   * @param residualStack a stack `[components, *batch_and_pos, d_model]` (`[components, pos, d_model]`
   *   with `hasBatchDim: false`).
   * @param options which norm (`layer`, `mlpInput`), the stack's slices, `recomputeLn` (see {@link ApplyLnOptions}).
   * @returns Lazy of the stack's shape after `batchSlice`: `[components, *batch_and_pos, d_model]`.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const { cache, logits } = await model.runWithCache('the cat');
   * const normed = cache.applyLnToStack(cache.decomposeResid(), { layer: -1 });
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  applyLnToStack(residualStack: g.Lazy, options: ApplyLnOptions = {}): g.Lazy {
    this.assertLive();
    return applyLnToStack(this.graph, residualStack, options);
  }

  /**
   * The residual entering a block as `[heads, neurons | mlp outs, embed, pos_embed, bias]`.
   * With a logit attribution or `projectOutputOnto` on top, the planner never builds the
   * `[components, *batch_and_pos, d_model]` stack.
   * @param options layer, `mlpInput`, `expandNeurons`, positions, normalization and projection (see
   *   {@link FullResidDecompositionOptions}); `returnLabels: true` returns `[lazy, labels]`.
   * @returns Lazy `[components, *batch_and_pos, d_model]` (d_model becomes k or is dropped with
   *   `projectOutputOnto`), with labels.
   * @example
   * ```ts
   * import { HookedTransformer } from 'lazylens';
   *
   * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
   * const { cache, logits } = await model.runWithCache('cat dog tree sun cat');
   * const full = cache.getFullResidDecomposition({ expandNeurons: true });
   * const attrs = cache.logitAttrs(full, 'dog');   // [8 heads + 512 neurons + 3, 1, 6]
   * console.log(attrs.explain());
   * await attrs.data();
   * cache.dispose(); logits.dispose(); model.dispose();
   * ```
   */
  getFullResidDecomposition(options: WithLabels<FullResidDecompositionOptions>): Labelled;
  getFullResidDecomposition(options?: FullResidDecompositionOptions & ReturnLabels): g.Lazy;
  getFullResidDecomposition(options: FullResidDecompositionOptions & ReturnLabels = {}): g.Lazy | Labelled {
    this.assertLive();
    return withLabels(getFullResidDecomposition(this.graph, options), options.returnLabels);
  }

  /**
   * A new cache holding only the batch entries `batchSlice` selects (an integer also drops the
   * batch dim). This cache is left as it is.
   * @param batchSlice which batch entries: an index, `[indices]`, or `{ start, stop, step }`.
   * @throws BatchDimError when this cache has no batch dim.
   */
  applySliceToBatchDim(batchSlice: g.SliceInput): ActivationCache {
    this.assertLive();
    if (!this.hasBatchDim) {
      throw new BatchDimError(
        'Cannot slice the batch of a cache without a batch dim; expected a cache with one.',
      );
    }
    const slice = g.Slice.from(batchSlice);
    const next = new Map<string, tf.Tensor>();
    try {
      for (const [name, t] of this.dict) {
        const idx = slice.indices(t.shape[0]);
        next.set(
          name,
          tf.tidy(() => {
            const picked = takeIndices(t, 0, idx);
            return slice.collapses ? tf.squeeze(picked, [0]) : picked;
          }),
        );
      }
    } catch (e) {
      for (const t of next.values()) t.dispose();
      throw e;
    }
    return new ActivationCache(next, this.model, !slice.collapses);
  }

  /**
   * Moves the cache to `backend` (tfjs moves each tensor's data on first use there). Returns this
   * cache. TransformerLens's `toggle_autodiff` has no counterpart: tfjs records gradients only
   * inside `tf.grad`/`tf.variableGrads`, never for cached activations.
   * @param backend the tfjs backend to use from now on (`'wasm'`, `'webgpu'`, `'cpu'`).
   */
  async to(backend: BackendName): Promise<ActivationCache> {
    this.assertLive();
    await selectBackend({ backend });
    return this;
  }

  /**
   * A new cache whose tensors have lost their batch dim of size 1 (this cache is left as it is).
   * On a cache without a batch dim it warns and returns an equivalent new cache, as TransformerLens.
   */
  removeBatchDim(): ActivationCache {
    this.assertLive();
    if (!this.hasBatchDim) {
      // TransformerLens warns and leaves the cache as it is; here that is a new cache with the
      // same activations, so the caller owns what it gets back in either case.
      console.warn('removeBatchDim: this cache has no batch dim; returning an equivalent cache.');
      const same = new Map<string, tf.Tensor>();
      for (const [name, t] of this.dict) same.set(name, t.clone());
      return new ActivationCache(same, this.model, false);
    }
    for (const [name, t] of this.dict) {
      if (t.shape[0] !== 1) {
        throw new BatchDimError(
          `Cannot remove the batch dim: '${name}' has batch size ${t.shape[0]}, expected 1 for every activation.`,
        );
      }
    }
    const next = new Map<string, tf.Tensor>();
    for (const [name, t] of this.dict) next.set(name, t.squeeze([0]));
    return new ActivationCache(next, this.model, false);
  }

  private assertLive(): void {
    if (this.wasDisposed)
      throw new LazylensError('This ActivationCache was disposed; its activations are gone.');
  }
}
