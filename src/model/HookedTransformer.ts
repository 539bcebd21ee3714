/**
 * A transformer with TransformerLens's hook points: run it, cache its activations, patch them.
 */
import * as tf from '@tensorflow/tfjs';
import { ensureBackend, selectBackend, type BackendOptions } from '../backend/index.js';
import { loadHfFolder } from '../loading/loadFolder.js';
import { toTensor } from '../loading/toTensor.js';
import { loadLlama2c } from '../loading/llama2c.js';
import { resolveModel } from './resolveModel.js';
import type { Observable } from 'rxjs';
import { ActivationCache } from '../cache/ActivationCache.js';
import type { CacheBatch, PromptInput, StreamCachesOptions } from '../stream/CacheBatch.js';
import type { PromptSource } from '../stream/promptReader.js';
import { streamCaches } from '../stream/streamCaches.js';
import type { LensModel } from '../cache/LensModel.js';
import { BadLayerError, BatchDimError, InvalidArgumentError, LazylensError } from '../errors.js';
import { makeConfig, stripUndefined, type HookedTransformerConfig, type PartialConfig } from './config.js';
import { runForward } from './forward.js';
import { generate, type GenerateOptions } from './generate.js';
import { allHookNames } from './hookPoints.js';
import { checkHookReplacement, compileMatcher, hookLayer, type HookFn, type NameMatcher } from './hooks.js';
import { initWeights } from './initWeights.js';
import { lmCrossEntropy } from './loss.js';
import { ModelWeights, validateStateDict, type StackedWeight } from './ModelWeights.js';
import { DEFAULT_PROCESSING, processWeights, type ProcessingOptions } from './processWeights.js';
import type { StateDict } from './stateDict.js';
import type { ModelTokenizer } from './ModelTokenizer.js';
import { hostIds } from './hostIds.js';
import { prepareTokens, type ModelInput, type TokenOptions } from './prepareTokens.js';
import { toSingleToken, toStrTokens, toString, toTokens, type ToTokensOptions } from '../loading/tokens.js';
import { applyPosSlice, type PosSliceInput } from './posSlice.js';

/** Options every forward pass takes: tokenization (BOS, padding) and where to stop. */
export interface RunOptions extends TokenOptions {
  /** Run blocks [0, stopAtLayer) and return the residual stream there instead of logits (exclusive, as TL). */
  stopAtLayer?: number;
}

/** Options of {@link HookedTransformer.runWithCache}. */
export interface RunWithCacheOptions extends RunOptions {
  /** Which activations to keep: a name, names (full or shorthand) or a predicate. Default: all. */
  namesFilter?: NameMatcher;
  /** Drop the batch dim (batch must be 1). */
  removeBatchDim?: boolean;
  /** Keep only these positions in the cache (dim −3 for q/k/v/z/result, −2 otherwise, as TL). */
  posSlice?: PosSliceInput;
}

/** What a forward pass returns: logits `[batch, pos, d_vocab_out]`, the scalar mean next-token loss, or both. */
export type ReturnType = 'logits' | 'loss' | 'both';

/** Options of {@link HookedTransformer.forward}. */
export interface ForwardOutputOptions extends RunOptions {
  /** `'logits'` (default), `'loss'` or `'both'`. */
  returnType?: ReturnType;
}

/** Options of {@link HookedTransformer.runWithHooks}. */
export interface RunWithHooksOptions extends ForwardOutputOptions {
  /** `[nameOrPredicate, fn]` pairs; hooks at one point run in the order given. */
  fwdHooks?: readonly (readonly [NameMatcher, HookFn])[];
}

/** Options of {@link HookedTransformer.fromPretrained}: weight processing (TransformerLens's defaults) and the backend. */
export interface FromPretrainedOptions extends ProcessingOptions, BackendOptions {
  /** Cache per-head outputs (`hook_result`) on every run. */
  useAttnResult?: boolean;
}

/** Options of {@link HookedTransformer.fromConfig}. */
export interface FromConfigOptions {
  /** Seed of the random initialization; `cfg.seed`, else 0, by default. */
  seed?: number;
  /** A tokenizer for string inputs; without one the model takes token ids only. */
  tokenizer?: ModelTokenizer;
}

/** Options of {@link HookedTransformer.fromStateDict}: weight processing (all off by default) and a tokenizer. */
export interface FromStateDictOptions extends ProcessingOptions {
  /** A tokenizer for string inputs; without one the model takes token ids only. */
  tokenizer?: ModelTokenizer;
}

/** `{ logits, loss }` for returnType 'both'; the caller owns both tensors. */
export interface LogitsAndLoss {
  /** Logits `[batch, pos, d_vocab_out]`. */
  logits: tf.Tensor;
  /** Mean next-token cross-entropy, a scalar `[]`. */
  loss: tf.Tensor;
}

type ForwardResult<R extends ReturnType | undefined> = R extends 'loss'
  ? tf.Scalar
  : R extends 'both'
    ? LogitsAndLoss
    : tf.Tensor;

/**
 * A transformer with TransformerLens's hook points (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama,
 * llama2.c). Build one with {@link HookedTransformer.fromPretrained} (a shipped name, a Hugging Face
 * folder or a llama2.c checkpoint), {@link HookedTransformer.fromConfig} (random weights) or
 * {@link HookedTransformer.fromStateDict}; run it with `forward`, `runWithCache` or `runWithHooks`.
 * The model owns its weights until {@link HookedTransformer.dispose}.
 */
export class HookedTransformer implements LensModel {
  private readonly weights: ModelWeights;
  private readonly hookNameList: readonly string[];
  private disposed = false;

  /**
   * Use a factory (`fromConfig`, `fromStateDict`, `fromPretrained`): the model takes ownership of `params`.
   * @param cfg the model's configuration (after weight processing: e.g. `LNPre` once LN is folded).
   * @param params the parameters under TransformerLens's names.
   * @param tokenizer turns text into ids and back; absent for models built from token ids only.
   */
  protected constructor(
    readonly cfg: HookedTransformerConfig,
    params: StateDict,
    readonly tokenizer?: ModelTokenizer,
  ) {
    this.weights = new ModelWeights(cfg, params);
    this.hookNameList = Object.freeze(allHookNames(cfg));
  }

  /**
   * A randomly initialized model (TransformerLens's default init) from a partial config.
   * @example
   * ```ts
   * const model = HookedTransformer.fromConfig({ nLayers: 2, dModel: 32, nCtx: 16, dHead: 8, dVocab: 50 }, { seed: 0 });
   * const logits = await model.forward([[1, 2, 3]]);   // [1, 3, 50]
   * logits.dispose(); model.dispose();
   * ```
   */
  static fromConfig(
    cfg: PartialConfig | HookedTransformerConfig,
    options: FromConfigOptions = {},
  ): HookedTransformer {
    const full = makeConfig(cfg);
    if (full.dVocab <= 0)
      throw new InvalidArgumentError(`dVocab ${full.dVocab} given; expected a positive vocabulary size.`);
    const seed = options.seed ?? full.seed ?? 0;
    return new HookedTransformer(full, initWeights(full, seed), options.tokenizer);
  }

  /**
   * A model from parameters under TransformerLens's names, processed as asked. Takes ownership
   * of the tensors in `params` (they are disposed with the model, or now if processing replaces them).
   * @throws CheckpointError for a missing parameter or one of the wrong shape.
   */
  static fromStateDict(
    cfg: HookedTransformerConfig,
    params: StateDict,
    options: FromStateDictOptions = {},
  ): HookedTransformer {
    try {
      validateStateDict(cfg, params);
    } catch (e) {
      for (const t of params.values()) t.dispose();
      throw e;
    }
    const processing = {
      foldLn: options.foldLn ?? false,
      centerWritingWeights: options.centerWritingWeights ?? false,
      centerUnembed: options.centerUnembed ?? false,
      foldValueBiases: options.foldValueBiases ?? false,
    };
    let out: { cfg: HookedTransformerConfig; params: StateDict };
    try {
      out = processWeights(cfg, params, processing);
    } catch (e) {
      for (const t of params.values()) t.dispose();
      throw e;
    }
    const kept = new Set(out.params.values());
    for (const t of params.values()) if (!kept.has(t)) t.dispose();
    return new HookedTransformer(out.cfg, out.params, options.tokenizer);
  }

  /**
   * Loads a shipped model by name, a local Hugging Face folder (config.json, model.safetensors,
   * tokenizer.json; GPT-2, GPT-Neo, GPT-NeoX and Llama), or a llama2.c checkpoint (a `.bin` file
   * with `tokenizer.bin` or `tok{vocab}.bin` beside it, or a folder holding `model.bin` and
   * `tokenizer.bin`), with TransformerLens's `from_pretrained` processing (each step can be turned off).
   * @example
   * ```ts
   * const model = await HookedTransformer.fromPretrained('test/fixtures/gpt2-tiny');
   * model.cfg.normalizationType;   // 'LNPre' (LayerNorm folded)
   * model.dispose();
   * ```
   */
  static async fromPretrained(
    nameOrPath: string,
    options: FromPretrainedOptions = {},
  ): Promise<HookedTransformer> {
    if (options.backend) await selectBackend({ backend: options.backend });
    else await ensureBackend();
    const where = resolveModel(nameOrPath);
    const loaded =
      where.kind === 'hf' ? await loadHfFolder(where.folder) : await loadLlama2c(where.checkpoint);
    const cfg =
      options.useAttnResult === undefined
        ? loaded.cfg
        : { ...loaded.cfg, useAttnResult: options.useAttnResult };
    const params: StateDict = new Map();
    try {
      for (const [name, host] of loaded.stateDict) params.set(name, toTensor(host));
    } catch (e) {
      for (const t of params.values()) t.dispose();
      throw e;
    }
    return HookedTransformer.fromStateDict(Object.freeze(cfg), params, {
      ...DEFAULT_PROCESSING,
      ...stripUndefined(options),
      tokenizer: loaded.tokenizer,
    });
  }

  /** {@link fromPretrained} with every weight-processing step off (TransformerLens's `from_pretrained_no_processing`). */
  static fromPretrainedNoProcessing(
    nameOrPath: string,
    options: Omit<FromPretrainedOptions, keyof ProcessingOptions> = {},
  ): Promise<HookedTransformer> {
    return HookedTransformer.fromPretrained(nameOrPath, {
      ...options,
      foldLn: false,
      centerWritingWeights: false,
      centerUnembed: false,
      foldValueBiases: false,
    });
  }

  /** TransformerLens's `from_pretrained` processing defaults. */
  static readonly DEFAULT_PROCESSING = DEFAULT_PROCESSING;

  /** Every hook point this model fires on a full pass, in execution order. */
  get hookNames(): readonly string[] {
    return this.hookNameList;
  }

  /**
   * A parameter under its TransformerLens name (owned by the model: do not dispose). For
   * grouped-query models `blocks.L.attn.W_K` (and `W_V`, `b_K`, `b_V`) give TL's
   * repeat-interleaved [n_heads, …] view of the stored `_W_K` [n_key_value_heads, …].
   * @returns the parameter in TransformerLens's shape, e.g. `blocks.0.attn.W_Q` [n_heads, d_model, d_head],
   *   `blocks.0.mlp.W_in` [d_model, d_mlp], `unembed.W_U` [d_model, d_vocab_out].
   */
  getParam(name: string): tf.Tensor {
    this.assertLive();
    return this.weights.get(name);
  }

  /** The parameters under TransformerLens's names (owned by the model: do not dispose). */
  stateDict(): ReadonlyMap<string, tf.Tensor> {
    this.assertLive();
    return this.weights.params;
  }

  /**
   * Runs the model and caches activations.
   * @returns logits [batch, pos, d_vocab_out] (or the residual at `stopAtLayer`), owned by the caller, and the cache.
   * @example
   * ```ts
   * const model = HookedTransformer.fromConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 });
   * const { logits, cache } = await model.runWithCache([[1, 2, 3]], { namesFilter: ['blocks.0.hook_resid_pre'] });
   * [...cache.keys()];                                  // ['blocks.0.hook_resid_pre']
   * logits.dispose(); cache.dispose(); model.dispose();
   * ```
   */
  async runWithCache(
    input: ModelInput,
    options: RunWithCacheOptions = {},
  ): Promise<{
    /** Logits `[batch, pos, d_vocab_out]` (or the residual `[batch, pos, d_model]` at `stopAtLayer`); the caller disposes them. */
    logits: tf.Tensor;
    /** The activations, owned by the cache until its `dispose()`. */
    cache: ActivationCache;
  }> {
    await ensureBackend();
    this.assertLive();
    const keep =
      options.namesFilter === undefined
        ? () => true
        : compileMatcher(options.namesFilter, this.hookNameList, 'namesFilter');
    const store = new Map<string, tf.Tensor>();
    const capture: HookFn = (a, { name }) => {
      if (!keep(name)) return;
      // Inside the forward's tidy: keep() lets the stored copy outlive it; the cache owns it.
      const stored = tf.tidy(() => {
        const sliced = options.posSlice === undefined ? a.clone() : applyPosSlice(a, name, options.posSlice);
        return options.removeBatchDim ? sliced.squeeze([0]) : sliced;
      });
      store.set(name, tf.keep(stored));
    };
    try {
      const logits = await this.run(input, options, [[() => true, capture]], (tokens) => {
        if (options.removeBatchDim && tokens.shape[0] !== 1) {
          throw new BatchDimError(`removeBatchDim needs a batch of 1; given a batch of ${tokens.shape[0]}.`);
        }
      });
      return { logits, cache: new ActivationCache(store, this, !options.removeBatchDim) };
    } catch (e) {
      for (const t of store.values()) if (!t.isDisposed) t.dispose();
      throw e;
    }
  }

  /**
   * Runs the model with forward hooks; a hook that returns a tensor patches that activation.
   * @returns as {@link HookedTransformer.forward}: logits [batch, pos, d_vocab_out], the loss [] or both; the caller owns them.
   * @example
   * ```ts
   * const model = HookedTransformer.fromConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 });
   * const ablate = (z: tf.Tensor) => tf.zerosLike(z);
   * const logits = await model.runWithHooks([[1, 2, 3]], { fwdHooks: [['blocks.0.attn.hook_z', ablate]] });
   * logits.dispose(); model.dispose();
   * ```
   */
  async runWithHooks<R extends ReturnType | undefined = undefined>(
    input: ModelInput,
    options: RunWithHooksOptions & { returnType?: R } = {},
  ): Promise<ForwardResult<R>> {
    await ensureBackend();
    this.assertLive();
    const hooks = (options.fwdHooks ?? []).map(([m, fn]) => {
      if (typeof fn !== 'function')
        throw new InvalidArgumentError(`A hook for ${String(m)} is ${typeof fn}; expected a function.`);
      return [compileMatcher(m, this.hookNameList, 'fwdHooks'), fn] as const;
    });
    return await this.withLoss<R>(input, options, hooks);
  }

  /**
   * Logits, the mean next-token cross-entropy loss, or both (TransformerLens's `return_type`).
   * @returns logits [batch, pos, d_vocab_out] (the residual [batch, pos, d_model] with `stopAtLayer`),
   *   the loss as a scalar [], or `{ logits, loss }`; the caller owns them.
   * @example
   * ```ts
   * const model = HookedTransformer.fromConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 });
   * const loss = await model.forward([[1, 2, 3, 4]], { returnType: 'loss' });
   * loss.dispose(); model.dispose();
   * ```
   */
  async forward<R extends ReturnType | undefined = undefined>(
    input: ModelInput,
    options: ForwardOutputOptions & { returnType?: R } = {},
  ): Promise<ForwardResult<R>> {
    await ensureBackend();
    this.assertLive();
    return await this.withLoss<R>(input, options, []);
  }

  private async withLoss<R extends ReturnType | undefined>(
    input: ModelInput,
    options: ForwardOutputOptions,
    hooks: readonly (readonly [(name: string) => boolean, HookFn])[],
  ): Promise<ForwardResult<R>> {
    const returnType = options.returnType ?? 'logits';
    if (!['logits', 'loss', 'both'].includes(returnType)) {
      throw new InvalidArgumentError(
        `returnType '${String(returnType)}' given; expected 'logits', 'loss' or 'both'.`,
      );
    }
    if (returnType !== 'logits' && options.stopAtLayer !== undefined) {
      throw new InvalidArgumentError(
        `returnType '${returnType}' needs logits, but stopAtLayer returns the residual stream.`,
      );
    }
    let tokensSeen: tf.Tensor | undefined;
    const logits = await this.run(input, options, hooks, (t) => {
      if (returnType !== 'logits') tokensSeen = t.clone();
    });
    if (returnType === 'logits') return logits as ForwardResult<R>;
    const tokens = tokensSeen as tf.Tensor;
    try {
      const loss = tf.tidy(() => lmCrossEntropy(logits, tokens));
      if (returnType === 'loss') {
        logits.dispose();
        return loss as ForwardResult<R>;
      }
      return { logits, loss } as ForwardResult<R>;
    } finally {
      tokens.dispose();
    }
  }

  /**
   * Tokenizes, validates and runs one forward pass inside `tf.tidy`, calling `hooks` at each hook
   * point. Returns logits (or the residual at stopAtLayer). A hook that stores a tensor it made
   * must `tf.keep` it, or the tidy frees it.
   */
  private async run(
    input: ModelInput,
    options: RunOptions,
    hooks: readonly (readonly [(name: string) => boolean, HookFn])[],
    inspect: (tokens: tf.Tensor) => void,
  ): Promise<tf.Tensor> {
    const stopAtLayer = this.normalizeStopAtLayer(options.stopAtLayer);
    const prepared = await prepareTokens(input, this.cfg, this.tokenizer, options);
    try {
      inspect(prepared.tokens);
      return tf.tidy(() =>
        runForward(
          this.cfg,
          this.weights.params,
          prepared.tokens,
          (name, x) => {
            let a = x;
            const ctx = { name, layer: hookLayer(name) };
            for (const [match, fn] of hooks) {
              if (!match(name)) continue;
              const r = fn(a, ctx);
              if (r !== undefined && r !== null) {
                checkHookReplacement(name, a, r);
                a = r;
              }
            }
            return a;
          },
          { stopAtLayer, attentionMask: prepared.attentionMask, maskRows: prepared.maskRows },
        ),
      );
    } finally {
      prepared.dispose();
    }
  }

  private normalizeStopAtLayer(stop: number | undefined): number | undefined {
    if (stop === undefined) return undefined;
    const n = this.cfg.nLayers;
    if (!Number.isInteger(stop) || stop < -n || stop > n) {
      throw new BadLayerError(`stopAtLayer ${stop} given; expected an integer in [${-n}, ${n}].`);
    }
    return stop < 0 ? n + stop : stop;
  }

  /**
   * Generates a continuation, as TransformerLens's `generate` (no key/value cache: each step
   * re-runs the forward pass). A string gives back the text, prompt included (without a
   * prepended BOS); token ids [batch][pos] give back the ids, prompt included. Greedy at
   * `temperature: 0`; sampling is reproducible with `seed`.
   * @example
   * ```ts
   * const model = HookedTransformer.fromConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 });
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
    await ensureBackend();
    this.assertLive();
    const self = {
      cfg: this.cfg,
      tokenizer: this.tokenizer,
      forward: (ids: number[][]) => this.forward(ids),
    };
    return typeof input === 'string' ? generate(self, input, options) : generate(self, input, options);
  }

  // ---- tokens (TransformerLens's helpers) ----

  private requireTokenizer(what: string): ModelTokenizer {
    if (!this.tokenizer) throw new InvalidArgumentError(`${what} needs a tokenizer; this model has none.`);
    return this.tokenizer;
  }

  /**
   * Tokens [batch, pos] (int32, owned by the caller) of a prompt or prompts, BOS first by
   * default (`cfg.defaultPrependBos`), padded (right by default), truncated to n_ctx as TransformerLens.
   */
  toTokens(input: string | readonly string[], options: ToTokensOptions = {}): tf.Tensor2D {
    const { ids } = toTokens(this.requireTokenizer('toTokens'), this.cfg, input, options);
    return tf.tensor2d(ids, [ids.length, ids[0].length], 'int32');
  }

  /**
   * Each token of `input` as text; a string is tokenized first (BOS by default). Token ids are
   * host data: read a tensor first (`await tokens.array()`), since a synchronous read blocks and
   * is impossible on webgpu in Node.
   */
  toStrTokens(
    input: string | readonly number[] | readonly (readonly number[])[],
    options: { prependBos?: boolean } = {},
  ): string[] {
    const tok = this.requireTokenizer('toStrTokens');
    if (typeof input === 'string') return toStrTokens(tok, this.cfg, input, options);
    return toStrTokens(tok, this.cfg, hostIds(input, 'toStrTokens') as number[] | number[][]);
  }

  /**
   * Text of tokens: [pos] gives a string, [batch, pos] one string per row. Token ids are host
   * data, as for {@link HookedTransformer.toStrTokens}.
   */
  toString(tokens: number | readonly number[] | readonly (readonly number[])[]): string | string[];
  toString(): string;
  toString(tokens?: number | readonly number[] | readonly (readonly number[])[]): string | string[] {
    if (tokens === undefined) return `HookedTransformer(${this.cfg.modelName}, ${this.cfg.nLayers} layers)`;
    return toString(this.requireTokenizer('toString'), this.cfg, hostIds(tokens, 'toString') as number[]);
  }

  /**
   * The id of `text`, which must be exactly one token (no BOS).
   * @throws TokenError naming the tokens the text became.
   */
  toSingleToken(text: string): number {
    return toSingleToken(this.requireTokenizer('toSingleToken'), this.cfg, text);
  }

  // ---- weights, as TransformerLens's properties (owned by the model: do not dispose) ----

  /** Token embedding [d_vocab, d_model]. */
  get W_E(): tf.Tensor {
    return this.getParam('embed.W_E');
  }
  /** Positional embedding [n_ctx, d_model] (standard positions only). */
  get W_pos(): tf.Tensor {
    return this.getParam('pos_embed.W_pos');
  }
  /** Unembedding [d_model, d_vocab_out]. */
  get W_U(): tf.Tensor {
    return this.getParam('unembed.W_U');
  }
  /** Unembedding bias [d_vocab_out]. */
  get b_U(): tf.Tensor {
    return this.getParam('unembed.b_U');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_Q(): tf.Tensor {
    return this.stacked('W_Q');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_K(): tf.Tensor {
    return this.stacked('W_K');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_V(): tf.Tensor {
    return this.stacked('W_V');
  }
  /** [n_layers, n_heads, d_head, d_model] */
  get W_O(): tf.Tensor {
    return this.stacked('W_O');
  }
  /** [n_layers, n_heads, d_head] */
  get b_Q(): tf.Tensor {
    return this.stacked('b_Q');
  }
  /** [n_layers, n_heads, d_head] */
  get b_K(): tf.Tensor {
    return this.stacked('b_K');
  }
  /** [n_layers, n_heads, d_head] */
  get b_V(): tf.Tensor {
    return this.stacked('b_V');
  }
  /** [n_layers, d_model] */
  get b_O(): tf.Tensor {
    return this.stacked('b_O');
  }
  /** [n_layers, d_model, d_mlp] */
  get W_in(): tf.Tensor {
    return this.stacked('W_in');
  }
  /** [n_layers, d_model, d_mlp], gated MLPs only (TL returns None otherwise; this throws). */
  get W_gate(): tf.Tensor {
    return this.stacked('W_gate');
  }
  /** [n_layers, d_mlp] */
  get b_in(): tf.Tensor {
    return this.stacked('b_in');
  }
  /** [n_layers, d_mlp, d_model] */
  get W_out(): tf.Tensor {
    return this.stacked('W_out');
  }
  /** [n_layers, d_model] */
  get b_out(): tf.Tensor {
    return this.stacked('b_out');
  }

  /** A per-layer parameter stacked over layers, built once and owned by the model. */
  private stacked(key: StackedWeight): tf.Tensor {
    this.assertLive();
    return this.weights.stacked(key);
  }

  /**
   * The unembedding direction(s) of `tokens`: `W_U[:, t]`. A string (one token), an id or a 0-d
   * tensor gives [d_model]; ids [batch] or [batch, pos] give [..., d_model]. The caller owns the result.
   */
  tokensToResidualDirections(tokens: string | number | number[] | number[][]): tf.Tensor {
    this.assertLive();
    const ids = typeof tokens === 'string' ? this.toSingleToken(tokens) : tokens;
    return this.weights.residualDirections(hostIds(ids, 'tokensToResidualDirections'));
  }

  /**
   * Σ of the biases written to the residual stream before block `layer` (b_O, and b_out when
   * `includeMlpBiases`), plus `b_O[layer]` when `mlpInput`. [d_model], owned by the caller.
   */
  accumulatedBias(layer: number, mlpInput = false, includeMlpBiases = true): tf.Tensor {
    this.assertLive();
    return this.weights.accumulatedBias(layer, mlpInput, includeMlpBiases);
  }

  /**
   * Caches over a stream of prompt batches (an array, iterable, async iterable or Observable of
   * prompts, token arrays or `{ prompt, answer? }` records). Each batch's tensors are borrowed:
   * they are disposed once the subscriber's work on the batch is done (see {@link CacheBatch}).
   */
  streamCaches<P extends PromptInput>(
    prompts: PromptSource<P>,
    options?: StreamCachesOptions,
  ): Observable<CacheBatch<P>> {
    return streamCaches(this, prompts, options);
  }

  /** True once {@link dispose} ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees every parameter. */
  dispose(): void {
    if (this.disposed) return;
    this.weights.dispose();
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new LazylensError('This HookedTransformer was disposed; its weights are gone.');
  }
}
