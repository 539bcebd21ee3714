/**
 * One forward pass with hooks: tokenize and validate the input, run the blocks inside `tf.tidy`
 * with each hook point calling the hooks that match it, and turn the logits into the loss when
 * asked. `forward`, `runWithHooks` and `runWithCache` are this with different hooks.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import { blockHookNames } from '../core/hookPoints.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import { prepareTokens, type ModelInput } from '../core/prepareTokens.js';
import type { StateDict } from '../core/stateDict.js';
import { BadLayerError, BatchDimError, InvalidArgumentError } from '../errors.js';
import { checkLastPositions, checkLogits, neededDepth } from './demand.js';
import { runForward } from './forward.js';
import { dispatchHooks, passLocalCtx, type CompiledHooks, type HookCtxSource, type HookFn } from './hooks.js';
import { lmCrossEntropy } from './loss.js';
import type {
  ForwardOutputOptions,
  ForwardResult,
  LogitsWanted,
  ReturnType,
  RunOptions,
  RunWithCacheOptions,
} from './options.js';
import { applyPosSlice } from './posSlice.js';
import type { ProjectionWeights } from './projectionWeights.js';

/** What a pass needs of the model: its config, parameters and tokenizer. */
export interface PassModel {
  readonly cfg: HookedTransformerConfig;
  readonly params: StateDict;
  readonly tokenizer?: ModelTokenizer;
  /** Each hook point's persistent `ctx` (TransformerLens's `hook.ctx`); a fresh one per pass without it. */
  readonly hookCtx?: HookCtxSource;
  /** The query, key and value weights laid out for the forward's matMul; transposed per pass without them. */
  readonly projections?: ProjectionWeights;
}

export type { CompiledHooks } from './hooks.js';

/**
 * Tokenizes, validates and runs one forward pass inside `tf.tidy`, calling `hooks` at each hook
 * point, and returns the logits (or the residual at stopAtLayer; nothing with `logits: 'none'`),
 * owned by the caller. `inspect` sees the prepared tokens and attention mask before the pass. A
 * hook that stores a tensor it made must `tf.keep` it, or the tidy frees it. `options.logits` must
 * be checked already (`checkLogits`).
 */
export async function runPass(
  m: PassModel,
  input: ModelInput,
  options: RunOptions & { logits?: LogitsWanted; lastTokenFinal?: boolean },
  hooks: CompiledHooks,
  inspect: (tokens: tf.Tensor, attentionMask: tf.Tensor | undefined) => void = () => undefined,
): Promise<tf.Tensor | undefined> {
  const want = options.logits ?? 'all';
  const observes = (name: string): boolean => hooks.some(([match]) => match(name));
  let stopAtLayer = normalizeStopAtLayer(m.cfg, options.stopAtLayer);
  if (want === 'none') {
    // Without logits, the blocks after the last observed hook point compute nothing anyone reads.
    const depth = neededDepth(m.cfg, observes);
    if (depth < m.cfg.nLayers) stopAtLayer = Math.min(stopAtLayer ?? depth, depth);
  }
  const prepared = await prepareTokens(input, m.cfg, m.tokenizer, options);
  try {
    if (want === 'last') checkLastPositions(prepared.lastPositions, prepared.tokens.shape[1]);
    inspect(prepared.tokens, prepared.attentionMask);
    const atHook = dispatchHooks(hooks, m.hookCtx ?? passLocalCtx());
    return tf.tidy(() => {
      const out = runForward(m.cfg, m.params, prepared.tokens, atHook, {
        stopAtLayer,
        attentionMask: prepared.attentionMask,
        maskRows: prepared.maskRows,
        observes,
        logits: want,
        lastPositions: prepared.lastPositions,
        finalRows: options.lastTokenFinal ? prepared.lastPositions : undefined,
        projections: m.projections,
      });
      // With no logits wanted the residual is the tidy's to free.
      return want === 'none' ? undefined : out;
    });
  } finally {
    prepared.dispose();
  }
}

/** The tokens and mask a pass ran on, kept for the loss (owned by whoever asked for them). */
export interface SeenTokens {
  tokens: tf.Tensor;
  attentionMask?: tf.Tensor;
}

/** `returnType` and `logits`, checked together. */
function checkOutput(options: ForwardOutputOptions): { returnType: ReturnType; logits: LogitsWanted } {
  const returnType = checkReturnType(options);
  return { returnType, logits: checkLogits(options.logits, returnType, options.stopAtLayer) };
}

export function checkReturnType(options: ForwardOutputOptions): ReturnType {
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
  return returnType;
}

/** Keeps copies of the tokens and mask when the loss will need them. */
function seeTokens(returnType: ReturnType, into: { seen?: SeenTokens }) {
  return (tokens: tf.Tensor, attentionMask: tf.Tensor | undefined): void => {
    if (returnType === 'logits') return;
    into.seen = { tokens: tokens.clone(), attentionMask: attentionMask?.clone() };
  };
}

/**
 * Turns the logits into what `returnType` asks for, taking ownership of `logits` and `seen`:
 * the logits, the loss (masked as TransformerLens) or both. Nothing leaks if the loss fails.
 */
export function shapeOutput(
  logits: tf.Tensor | undefined,
  seen: SeenTokens | undefined,
  returnType: ReturnType,
  perToken: boolean | undefined,
): { logits?: tf.Tensor; loss?: tf.Tensor } {
  if (returnType === 'logits' || !seen || !logits) return { logits };
  try {
    const loss = lmCrossEntropy(logits, seen.tokens, { attentionMask: seen.attentionMask, perToken });
    if (returnType === 'loss') {
      logits.dispose();
      return { loss };
    }
    return { logits, loss };
  } catch (e) {
    logits.dispose();
    throw e;
  } finally {
    seen.tokens.dispose();
    seen.attentionMask?.dispose();
  }
}

/** The logits, the next-token loss or both, as `returnType` asks (TransformerLens's `return_type`). */
export async function runForOutput<
  R extends ReturnType | undefined,
  P extends boolean | undefined,
  L extends LogitsWanted | undefined = undefined,
>(
  m: PassModel,
  input: ModelInput,
  options: ForwardOutputOptions,
  hooks: CompiledHooks,
): Promise<ForwardResult<R, P, L>> {
  const { returnType, logits: want } = checkOutput(options);
  const box: { seen?: SeenTokens } = {};
  let logits: tf.Tensor | undefined;
  try {
    logits = await runPass(m, input, { ...options, logits: want }, hooks, seeTokens(returnType, box));
  } catch (e) {
    if (box.seen) tf.dispose([box.seen.tokens, box.seen.attentionMask ?? []]);
    throw e;
  }
  const out = shapeOutput(logits, box.seen, returnType, options.lossPerToken);
  if (returnType === 'logits') return out.logits as ForwardResult<R, P, L>;
  if (returnType === 'loss') return out.loss as ForwardResult<R, P, L>;
  return out as ForwardResult<R, P, L>;
}

/**
 * Runs a pass that stores every activation `keep` accepts (sliced to `posSlice`, without the
 * batch dim with `removeBatchDim`), after the hooks `before` (so the store sees what they return).
 * Returns the output `returnType` asks for and the store, all owned by the caller; on an error
 * nothing stored survives.
 */
export async function runCaching(
  m: PassModel,
  input: ModelInput,
  options: RunWithCacheOptions,
  keep: (name: string) => boolean,
  before: CompiledHooks = [],
): Promise<{ logits?: tf.Tensor; loss?: tf.Tensor; store: Map<string, tf.Tensor> }> {
  const { returnType, logits: want } = checkOutput(options);
  const store = new Map<string, tf.Tensor>();
  const box: { seen?: SeenTokens } = {};
  const see = seeTokens(returnType, box);
  const capture: HookFn = (a, { name }) => {
    if (!keep(name)) return;
    store.set(name, cachedCopy(a, name, options));
  };
  // The model's own hooks may change what they see: with one on the final block or ln_final,
  // those run in full.
  const lastTokenFinal = options.finalBlockAtLastToken === true && !hooksOnFinalBlock(m.cfg, before);
  try {
    const logits = await runPass(
      m,
      input,
      { ...options, logits: want, lastTokenFinal },
      [...before, [keep, capture]],
      (tokens, mask) => {
        if (options.removeBatchDim && tokens.shape[0] !== 1) {
          throw new BatchDimError(`removeBatchDim needs a batch of 1; given a batch of ${tokens.shape[0]}.`);
        }
        see(tokens, mask);
      },
    );
    const seen = box.seen;
    box.seen = undefined;
    return { ...shapeOutput(logits, seen, returnType, options.lossPerToken), store };
  } catch (e) {
    for (const t of store.values()) if (!t.isDisposed) t.dispose();
    if (box.seen) tf.dispose([box.seen.tokens, box.seen.attentionMask ?? []]);
    throw e;
  }
}

/**
 * The copy of activation `a` (at hook point `name`) a cache stores: sliced to `posSlice`, without
 * the batch dim with `removeBatchDim`, and kept, so it outlives the forward's tidy.
 */
export function cachedCopy(
  a: tf.Tensor,
  name: string,
  options: Pick<RunWithCacheOptions, 'posSlice' | 'removeBatchDim'>,
): tf.Tensor {
  // Inside the forward's tidy: keep() lets the stored tensor outlive it; the store owns it. A
  // reshape to the same shape shares the activation's data (a clone copies it on wasm), and is a
  // tensor of the store's own: one activation seen under two names, or also returned as the
  // output, is still disposed once per owner.
  const stored = tf.tidy(() => {
    const sliced =
      options.posSlice === undefined ? tf.reshape(a, a.shape) : applyPosSlice(a, name, options.posSlice);
    return options.removeBatchDim ? sliced.squeeze([0]) : sliced;
  });
  return tf.keep(stored);
}

/** Whether any of `hooks` watches a point of the final block or `ln_final`. */
function hooksOnFinalBlock(cfg: HookedTransformerConfig, hooks: CompiledHooks): boolean {
  if (hooks.length === 0) return false;
  const points = [...blockHookNames(cfg, cfg.nLayers - 1), 'ln_final.hook_scale', 'ln_final.hook_normalized'];
  return hooks.some(([match]) => points.some(match));
}

export function normalizeStopAtLayer(
  cfg: HookedTransformerConfig,
  stop: number | undefined,
): number | undefined {
  if (stop === undefined) return undefined;
  const n = cfg.nLayers;
  if (!Number.isInteger(stop) || stop < -n || stop > n) {
    throw new BadLayerError(`stopAtLayer ${stop} given; expected an integer in [${-n}, ${n}].`);
  }
  return stop < 0 ? n + stop : stop;
}
