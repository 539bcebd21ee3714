/**
 * A transformer with TransformerLens's hook points: run it, cache its activations, patch them.
 * This class is a facade: loading lives in `loadPretrained`, the pass in `runPass`, generation in
 * `generate`, token helpers in `modelTokens`, and the weights in `TransformerWeights`.
 */
import type * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../backend/index.js';
import { ActivationCache } from '../cache/ActivationCache.js';
import type { LensModel } from '../cache/LensModel.js';
import { checkOptions } from '../core/checkOptions.js';
import { makeConfig, type HookedTransformerConfig, type PartialConfig } from '../core/config.js';
import { allHookNames } from '../core/hookPoints.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { ModelInput } from '../core/prepareTokens.js';
import type { StateDict } from '../core/stateDict.js';
import type { ToTokensOptions } from '../core/tokens.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { generate, GENERATE_KEYS, type GenerateOptions } from './generate.js';
import { runCachingWithGrads } from './gradPass.js';
import { HookRegistry, type AddHookOptions, type ResetHooksOptions } from './HookRegistry.js';
import { compileMatcher, type CompiledHooks, type HookFn, type NameMatcher } from './hooks.js';
import { initWeights } from './initWeights.js';
import { loadPretrained, NO_PROCESSING, processStateDict } from './loadPretrained.js';
import { modelToSingleToken, modelToStrTokens, modelToString, modelToTokens } from './modelTokens.js';
import {
  FORWARD_KEYS,
  FROM_CONFIG_KEYS,
  FROM_PRETRAINED_KEYS,
  FROM_STATE_DICT_KEYS,
  RUN_WITH_CACHE_KEYS,
  RUN_WITH_HOOKS_KEYS,
  type CachedResult,
  type ForwardOutputOptions,
  type ForwardResult,
  type FromConfigOptions,
  type FromPretrainedOptions,
  type FromStateDictOptions,
  type LogitsWanted,
  type ReturnType,
  type RunWithCacheOptions,
  type RunWithHooksOptions,
  type WithHooksSpec,
  WITH_HOOKS_KEYS,
  ADD_HOOK_KEYS,
  RESET_HOOKS_KEYS,
} from './options.js';
import { DEFAULT_PROCESSING, type ProcessingOptions } from './processWeights.js';
import { runCaching, runForOutput, type PassModel } from './runPass.js';
import { TransformerWeights } from './TransformerWeights.js';
import type { FactoredMatrix } from '../weights/FactoredMatrix.js';
import { OV, QK } from '../weights/headCircuits.js';

/** @throws InvalidArgumentError for a gradient option that cannot be honoured. */
function checkGradOptions(options: RunWithCacheOptions): void {
  if (options.inclBwd !== undefined && typeof options.inclBwd !== 'boolean') {
    throw new InvalidArgumentError(
      `runWithCache: inclBwd given as ${typeof options.inclBwd}; expected a boolean.`,
    );
  }
  if (options.metric !== undefined && typeof options.metric !== 'function') {
    throw new InvalidArgumentError(
      `runWithCache: metric given as ${typeof options.metric}; expected a function of the logits returning a scalar.`,
    );
  }
  if (options.inclBwd && options.logits !== undefined && options.logits !== 'all') {
    throw new InvalidArgumentError(
      `runWithCache: logits '${String(options.logits)}' given with inclBwd: true; expected 'all' (or no logits option): the metric is a function of the full logits.`,
    );
  }
  const final = options.finalBlockAtLastToken;
  if (final !== undefined && typeof final !== 'boolean') {
    throw new InvalidArgumentError(
      `runWithCache: finalBlockAtLastToken given as ${typeof final}; expected a boolean.`,
    );
  }
  if (final && options.logits !== 'last' && options.logits !== 'none') {
    throw new InvalidArgumentError(
      `runWithCache: finalBlockAtLastToken given with logits '${String(options.logits ?? 'all')}'; expected logits 'last' or 'none' (the logits at other positions would need the whole final block).`,
    );
  }
  if (options.metric !== undefined && !options.inclBwd) {
    throw new InvalidArgumentError(
      'runWithCache: metric given without inclBwd: true; expected both (metric is what the backward pass differentiates).',
    );
  }
}

/**
 * A transformer with TransformerLens's hook points (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama,
 * llama2.c). Build one with {@link HookedTransformer.fromPretrained} (a shipped name, a Hugging Face
 * folder or a llama2.c checkpoint), {@link HookedTransformer.fromConfig} (random weights) or
 * {@link HookedTransformer.fromStateDict}; run it with `forward`, `runWithCache` or `runWithHooks`.
 * The model owns its weights until {@link HookedTransformer.dispose}.
 */
export class HookedTransformer extends TransformerWeights implements LensModel {
  private readonly hookNameList: readonly string[];
  private readonly lasting = new HookRegistry();

  /**
   * Use a factory (`fromConfig`, `fromStateDict`, `fromPretrained`): the model takes ownership of `params`.
   * @param cfg the model's configuration (after weight processing: e.g. `LNPre` once LN is folded).
   * @param params the parameters under TransformerLens's names.
   * @param tokenizer turns text into ids and back; absent for models built from token ids only.
   */
  protected constructor(
    cfg: HookedTransformerConfig,
    params: StateDict,
    readonly tokenizer?: ModelTokenizer,
  ) {
    super(cfg, params);
    this.hookNameList = Object.freeze(allHookNames(cfg));
  }

  /**
   * A randomly initialized model (TransformerLens's default init) from a partial config.
   * @param cfg the configuration; missing fields take TransformerLens's defaults.
   * @param options the seed and an optional tokenizer.
   * @example
   * ```ts
   * const cfg = { nLayers: 2, dModel: 32, nCtx: 16, dHead: 8, dVocab: 50 };
   * const model = HookedTransformer.fromConfig(cfg, { seed: 0 });
   * const logits = await model.forward([[1, 2, 3]]);   // [1, 3, 50]
   * logits.dispose(); model.dispose();
   * ```
   */
  static fromConfig(
    cfg: PartialConfig | HookedTransformerConfig,
    options: FromConfigOptions = {},
  ): HookedTransformer {
    checkOptions(options, FROM_CONFIG_KEYS, 'HookedTransformer.fromConfig');
    const full = makeConfig(cfg);
    if (full.dVocab <= 0) {
      throw new ConfigError(
        `Config field dVocab: given ${full.dVocab}, expected a positive integer (a model needs a vocabulary size).`,
      );
    }
    const seed = options.seed ?? full.seed ?? 0;
    const params = initWeights(full, seed);
    try {
      return new HookedTransformer(full, params, options.tokenizer);
    } catch (e) {
      for (const t of params.values()) t.dispose();
      throw e;
    }
  }

  /**
   * A model from parameters under TransformerLens's names, processed as asked. Takes ownership
   * of the tensors in `params` (they are disposed with the model, or now if processing replaces them).
   * @param cfg the configuration the parameters were made for.
   * @param params the parameters under TransformerLens's names.
   * @param options weight processing (all off by default) and a tokenizer.
   * @throws CheckpointError for a missing parameter or one of the wrong shape.
   */
  static fromStateDict(
    cfg: HookedTransformerConfig,
    params: StateDict,
    options: FromStateDictOptions = {},
  ): HookedTransformer {
    checkOptions(options, FROM_STATE_DICT_KEYS, 'HookedTransformer.fromStateDict');
    const { tokenizer, ...processing } = options;
    const out = processStateDict(cfg, params, { ...NO_PROCESSING, ...processing });
    return new HookedTransformer(out.cfg, out.params, tokenizer);
  }

  /**
   * Loads a shipped model by name, a local Hugging Face folder (config.json, model.safetensors,
   * tokenizer.json; GPT-2, GPT-Neo, GPT-NeoX and Llama), or a llama2.c checkpoint (a `.bin` file
   * with `tokenizer.bin` or `tok{vocab}.bin` beside it, or a folder holding `model.bin` and
   * `tokenizer.bin`), with TransformerLens's `from_pretrained` processing (each step can be turned off).
   * @param nameOrPath a shipped model's name (`'induction-2l'`) or a path.
   * @param options weight processing, `useAttnResult` and the backend.
   * @example
   * ```ts
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * model.cfg.normalizationType;   // 'LNPre' (LayerNorm folded)
   * model.dispose();
   * ```
   */
  static async fromPretrained(
    nameOrPath: string,
    options: FromPretrainedOptions = {},
  ): Promise<HookedTransformer> {
    checkOptions(options, FROM_PRETRAINED_KEYS, 'HookedTransformer.fromPretrained');
    const { cfg, params, tokenizer } = await loadPretrained(nameOrPath, options);
    return new HookedTransformer(cfg, params, tokenizer);
  }

  /**
   * {@link fromPretrained} with every weight-processing step off (TransformerLens's `from_pretrained_no_processing`).
   * @param nameOrPath a shipped model's name or a path.
   * @param options `useAttnResult` and the backend.
   */
  static fromPretrainedNoProcessing(
    nameOrPath: string,
    options: Omit<FromPretrainedOptions, keyof ProcessingOptions> = {},
  ): Promise<HookedTransformer> {
    return HookedTransformer.fromPretrained(nameOrPath, { ...options, ...NO_PROCESSING });
  }

  /** TransformerLens's `from_pretrained` processing defaults. */
  static readonly DEFAULT_PROCESSING = DEFAULT_PROCESSING;

  /**
   * The OV circuits of every head, `W_V @ W_O` [n_layers, n_heads, d_model, d_model], as a
   * factored matrix that never forms the product unless asked. A new matrix on every call: the
   * caller disposes it.
   */
  get OV(): FactoredMatrix {
    return OV(this);
  }

  /**
   * The QK circuits of every head, `W_Q @ W_Kᵀ` [n_layers, n_heads, d_model, d_model], factored.
   * A new matrix on every call: the caller disposes it.
   */
  get QK(): FactoredMatrix {
    return QK(this);
  }

  /** Every hook point this model fires on a full pass, in execution order. */
  get hookNames(): readonly string[] {
    return this.hookNameList;
  }

  /** What a forward pass needs of this model. */
  private get pass(): PassModel {
    this.assertLive();
    return {
      cfg: this.cfg,
      params: this.weights.params,
      tokenizer: this.tokenizer,
      hookCtx: this.lasting.ctxOf,
      projections: this.weights.projections,
    };
  }

  /** `[matcher, fn]` pairs checked and resolved against this model's hook names. */
  private compileHooks(hooks: unknown, what: string): CompiledHooks {
    if (hooks === undefined) return [];
    if (!Array.isArray(hooks)) {
      throw new InvalidArgumentError(
        `${what} given as ${typeof hooks}; expected an array of [name, fn] pairs.`,
      );
    }
    return (hooks as readonly (readonly [NameMatcher, HookFn])[]).map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidArgumentError(`An entry of ${what} is not a [name, fn] pair; expected [name, fn].`);
      }
      const [m, fn] = pair;
      if (typeof fn !== 'function')
        throw new InvalidArgumentError(`A hook for ${String(m)} is ${typeof fn}; expected a function.`);
      return [compileMatcher(m, this.hookNameList, what), fn] as const;
    });
  }

  /**
   * Adds a hook that stays until removed: it runs on every `forward`, `runWithHooks`,
   * `runWithCache` (whose cache then sees what it returns), `generate` and stream, before the
   * call's own hooks (TransformerLens's `add_hook`). A forward hook (`dir: 'fwd'`, the default)
   * sees and may replace the activation; a backward hook (`dir: 'bwd'`) sees the gradient there on
   * a gradient pass (`runWithCache` with `inclBwd`, attribution patching) and may return a tensor
   * to replace the gradient passed further back.
   * @param nameOrFilter a hook name (full or shorthand), names, or a predicate over full names.
   * @param fn the hook; its second argument holds the point's `name`, `layer` and persistent `ctx`.
   * @param options `dir`, `perma` (survives `resetHooks()`), `prepend`.
   * @returns a function removing this hook alone.
   * @throws UnknownKeyError for a name the model lacks, suggesting the nearest.
   * @example
   * ```ts
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * // a steering hook
   * model.addHook('blocks.0.hook_resid_pre', (x) => tf.mul(x, 2), { perma: true });
   * const logits = await model.forward([[1, 2, 3]]);   // runs with it
   * model.resetHooks({ includingPermanent: true });
   * logits.dispose(); model.dispose();
   * ```
   */
  addHook(nameOrFilter: NameMatcher, fn: HookFn, options: AddHookOptions = {}): () => void {
    checkOptions(options, ADD_HOOK_KEYS, 'addHook');
    const dir = options.dir ?? 'fwd';
    if (dir !== 'fwd' && dir !== 'bwd') {
      throw new InvalidArgumentError(`addHook: dir '${String(dir)}' given; expected 'fwd' or 'bwd'.`);
    }
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`addHook: the hook is ${typeof fn}; expected a function.`);
    }
    const match = compileMatcher(nameOrFilter, this.hookNameList, 'addHook');
    return this.lasting.add(match, fn, { dir, perma: options.perma === true, prepend: options.prepend });
  }

  /**
   * Removes lasting hooks and clears every hook point's `ctx`, as TransformerLens's `reset_hooks`:
   * permanent hooks stay unless `includingPermanent` is true.
   * @param options `includingPermanent` (default false), `clearContexts` (default true), `direction`.
   */
  resetHooks(options: ResetHooksOptions = {}): void {
    checkOptions(options, RESET_HOOKS_KEYS, 'resetHooks');
    const direction = options.direction ?? 'both';
    if (!['fwd', 'bwd', 'both'].includes(direction)) {
      throw new InvalidArgumentError(
        `resetHooks: direction '${String(direction)}' given; expected 'fwd', 'bwd' or 'both'.`,
      );
    }
    this.lasting.reset(options);
  }

  /**
   * How many lasting hooks are installed, of one direction or both.
   * @param dir `'fwd'` or `'bwd'`; both when left out.
   */
  hookCount(dir?: 'fwd' | 'bwd'): number {
    return this.lasting.count(dir);
  }

  /**
   * Runs `body` with hooks installed on this model, and removes them when it ends, even by an
   * error (TransformerLens's `with model.hooks(...)`). Scopes nest: an inner scope's hooks run after
   * the outer's. The hooks are the model's while the body runs, so a concurrent call on the same
   * model sees them too.
   * @param hooks `fwdHooks` and `bwdHooks`, `[nameOrPredicate, fn]` pairs as `runWithHooks`.
   * @param body what to run; it gets this model.
   * @returns what `body` returns.
   * @example
   * ```ts
   * const model = await HookedTransformer.fromPretrained('induction-2l');
   * const ablate = (z: tf.Tensor) => tf.zerosLike(z);
   * const logits = await model.withHooks({ fwdHooks: [['blocks.0.attn.hook_z', ablate]] }, (m) =>
   *   m.forward([[1, 2, 3]]),
   * );
   * logits.dispose(); model.dispose();
   * ```
   */
  async withHooks<T>(hooks: WithHooksSpec, body: (model: this) => Promise<T>): Promise<T> {
    checkOptions(hooks, WITH_HOOKS_KEYS, 'withHooks');
    if (typeof body !== 'function') {
      throw new InvalidArgumentError(`withHooks: body given as ${typeof body}; expected an async function.`);
    }
    const fwd = this.compileHooks(hooks.fwdHooks, 'fwdHooks');
    const bwd = this.compileHooks(hooks.bwdHooks, 'bwdHooks');
    return await this.lasting.scoped(fwd, bwd, () => body(this));
  }

  /**
   * Runs the model and caches activations.
   * @param input text, texts, token ids [pos] or [batch][pos], or an int32 tensor [batch, pos].
   * @param options which activations to keep, positions, batch dim, tokenization, stopAtLayer, and
   *   `returnType` / `lossPerToken` as {@link HookedTransformer.forward}.
   * @returns the cache and `logits` [batch, pos, d_vocab_out] (or the residual at `stopAtLayer`),
   *   or `loss`, or both, as `returnType` asks; the caller owns the tensors.
   * @example
   * ```ts
   * const cfg = { nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
   * const model = HookedTransformer.fromConfig(cfg);
   * const namesFilter = ['blocks.0.hook_resid_pre'];
   * const { logits, cache } = await model.runWithCache([[1, 2, 3]], { namesFilter });
   * [...cache.keys()];                                  // ['blocks.0.hook_resid_pre']
   * logits.dispose(); cache.dispose(); model.dispose();
   * ```
   */
  async runWithCache<
    R extends ReturnType | undefined = undefined,
    L extends LogitsWanted | undefined = undefined,
  >(
    input: ModelInput,
    options: RunWithCacheOptions & { returnType?: R; logits?: L } = {},
  ): Promise<CachedResult<R, ActivationCache, L>> {
    checkOptions(options, RUN_WITH_CACHE_KEYS, 'runWithCache');
    checkGradOptions(options);
    await ensureBackend();
    const keep =
      options.namesFilter === undefined
        ? () => true
        : compileMatcher(options.namesFilter, this.hookNameList, 'namesFilter');
    const fwd = this.lasting.hooks('fwd');
    const { store, ...out } = options.inclBwd
      ? await runCachingWithGrads(
          this.pass,
          input,
          options,
          keep,
          { fwd, bwd: this.lasting.hooks('bwd') },
          options.metric,
        )
      : await runCaching(this.pass, input, options, keep, fwd);
    return { ...out, cache: new ActivationCache(store, this, !options.removeBatchDim) } as CachedResult<
      R,
      ActivationCache,
      L
    >;
  }

  /**
   * Runs the model with forward hooks; a hook that returns a tensor patches that activation.
   * @param input text, texts, token ids or an int32 tensor, as {@link runWithCache}.
   * @param options `fwdHooks`, `returnType` and the run options.
   * @returns as {@link HookedTransformer.forward}: logits [batch, pos, d_vocab_out], the loss [] or both; the caller owns them.
   * @example
   * ```ts
   * const cfg = { nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
   * const model = HookedTransformer.fromConfig(cfg);
   * const ablate = (z: tf.Tensor) => tf.zerosLike(z);
   * const logits = await model.runWithHooks([[1, 2, 3]], {
   *   fwdHooks: [['blocks.0.attn.hook_z', ablate]],
   * });
   * logits.dispose(); model.dispose();
   * ```
   */
  async runWithHooks<
    R extends ReturnType | undefined = undefined,
    P extends boolean | undefined = undefined,
    L extends LogitsWanted | undefined = undefined,
  >(
    input: ModelInput,
    options: RunWithHooksOptions & { returnType?: R; lossPerToken?: P; logits?: L } = {},
  ): Promise<ForwardResult<R, P, L>> {
    checkOptions(options, RUN_WITH_HOOKS_KEYS, 'runWithHooks');
    await ensureBackend();
    const hooks = this.compileHooks(options.fwdHooks, 'fwdHooks');
    return await runForOutput<R, P, L>(this.pass, input, options, [...this.lasting.hooks('fwd'), ...hooks]);
  }

  /**
   * Logits, the mean next-token cross-entropy loss, or both (TransformerLens's `return_type`). The
   * loss leaves out predictions from or of a masked position (left padding, `attentionMask`), as TL.
   * @param input text, texts, token ids or an int32 tensor, as {@link runWithCache}.
   * @param options `returnType` and the run options.
   * @returns logits [batch, pos, d_vocab_out] (the residual [batch, pos, d_model] with `stopAtLayer`),
   *   the loss as a scalar [], or `{ logits, loss }`; the caller owns them.
   * @example
   * ```ts
   * const cfg = { nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
   * const model = HookedTransformer.fromConfig(cfg);
   * const loss = await model.forward([[1, 2, 3, 4]], { returnType: 'loss' });
   * loss.dispose(); model.dispose();
   * ```
   */
  async forward<
    R extends ReturnType | undefined = undefined,
    P extends boolean | undefined = undefined,
    L extends LogitsWanted | undefined = undefined,
  >(
    input: ModelInput,
    options: ForwardOutputOptions & { returnType?: R; lossPerToken?: P; logits?: L } = {},
  ): Promise<ForwardResult<R, P, L>> {
    checkOptions(options, FORWARD_KEYS, 'forward');
    await ensureBackend();
    return await runForOutput<R, P, L>(this.pass, input, options, this.lasting.hooks('fwd'));
  }

  /**
   * Generates a continuation, as TransformerLens's `generate`. A string gives back the text,
   * prompt included (without a prepended BOS); token ids [batch][pos] give back the ids, prompt
   * included. Greedy at `temperature: 0`; sampling is reproducible with `seed`.
   * @param input a text prompt or token ids [batch][pos].
   * @param options length, sampling and stopping (TransformerLens's defaults).
   * @example
   * ```ts
   * const cfg = { nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 };
   * const model = HookedTransformer.fromConfig(cfg);
   * const ids = await model.generate([[1, 2, 3]], { maxNewTokens: 2, temperature: 0 });
   * ids[0].length;   // 5
   * model.dispose();
   * ```
   */
  generate(input: string, options?: GenerateOptions): Promise<string>;
  generate(input: readonly (readonly number[])[], options?: GenerateOptions): Promise<number[][]>;
  async generate(
    input: string | readonly (readonly number[])[],
    options: GenerateOptions = {},
  ): Promise<string | number[][]> {
    checkOptions(options, GENERATE_KEYS, 'generate');
    await ensureBackend();
    // Lasting hooks fire at every step, on the positions that step runs.
    const self = { ...this.pass, hooks: this.lasting.hooks('fwd') };
    return typeof input === 'string' ? generate(self, input, options) : generate(self, input, options);
  }

  /**
   * Tokens [batch, pos] (int32, owned by the caller) of a prompt or prompts, BOS first by
   * default (`cfg.defaultPrependBos`), padded (right by default), truncated to n_ctx as TransformerLens.
   * @param input a prompt or prompts.
   * @param options BOS, padding side, truncation.
   */
  toTokens(input: string | readonly string[], options: ToTokensOptions = {}): tf.Tensor2D {
    return modelToTokens(this, input, options);
  }

  /**
   * Each token of `input` as text.
   * @param input a string (tokenized first, BOS by default), ids [pos] or a tensor of ids.
   * @param options `prependBos` for a string input.
   */
  toStrTokens(
    input: string | readonly number[] | readonly (readonly number[])[],
    options: { prependBos?: boolean } = {},
  ): string[] {
    return modelToStrTokens(this, input, options);
  }

  /**
   * Text of tokens: [pos] gives a string, [batch, pos] one string per row; without an argument,
   * a one-line description of the model.
   * @param tokens an id, or ids [pos] or [batch][pos] as numbers (read a tensor first with
   *   `await tokens.array()`).
   */
  override toString(tokens: number | readonly number[] | readonly (readonly number[])[]): string | string[];
  override toString(): string;
  override toString(tokens?: number | readonly number[] | readonly (readonly number[])[]): string | string[] {
    if (tokens === undefined) return `HookedTransformer(${this.cfg.modelName}, ${this.cfg.nLayers} layers)`;
    return modelToString(this, tokens);
  }

  /**
   * The id of `text`, which must be exactly one token (no BOS).
   * @param text one token's text.
   * @throws TokenError naming the tokens the text became.
   */
  override toSingleToken(text: string): number {
    return modelToSingleToken(this, text);
  }
}
