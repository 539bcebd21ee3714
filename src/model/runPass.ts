/**
 * One forward pass with hooks: tokenize and validate the input, run the blocks inside `tf.tidy`
 * with each hook point calling the hooks that match it, and turn the logits into the loss when
 * asked. `forward`, `runWithHooks` and `runWithCache` are this with different hooks.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import { prepareTokens, type ModelInput } from '../core/prepareTokens.js';
import type { StateDict } from '../core/stateDict.js';
import { BadLayerError, BatchDimError, InvalidArgumentError } from '../errors.js';
import { runForward } from './forward.js';
import { checkHookReplacement, hookLayer, type HookFn } from './hooks.js';
import type { Emit } from './layers.js';
import { lmCrossEntropy } from './loss.js';
import type {
  ForwardOutputOptions,
  ForwardResult,
  ReturnType,
  RunOptions,
  RunWithCacheOptions,
} from './options.js';
import { applyPosSlice } from './posSlice.js';

/** What a pass needs of the model: its config, parameters and tokenizer. */
export interface PassModel {
  readonly cfg: HookedTransformerConfig;
  readonly params: StateDict;
  readonly tokenizer?: ModelTokenizer;
}

/** Hooks after name matching: a predicate over hook names and the function to call. */
export type CompiledHooks = readonly (readonly [(name: string) => boolean, HookFn])[];

/** The forward's `emit`: calls each hook whose name matches, in order; a returned tensor replaces the activation. */
export function hookEmitter(hooks: CompiledHooks): Emit {
  return (name, x) => {
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
  };
}

/**
 * Tokenizes, validates and runs one forward pass inside `tf.tidy`, calling `hooks` at each hook
 * point, and returns the logits (or the residual at stopAtLayer), owned by the caller. `inspect`
 * sees the prepared tokens and attention mask before the pass. A hook that stores a tensor it made must `tf.keep`
 * it, or the tidy frees it.
 */
export async function runPass(
  m: PassModel,
  input: ModelInput,
  options: RunOptions,
  hooks: CompiledHooks,
  inspect: (tokens: tf.Tensor, attentionMask: tf.Tensor | undefined) => void = () => undefined,
): Promise<tf.Tensor> {
  const stopAtLayer = normalizeStopAtLayer(m.cfg, options.stopAtLayer);
  const prepared = await prepareTokens(input, m.cfg, m.tokenizer, options);
  try {
    inspect(prepared.tokens, prepared.attentionMask);
    const atHook = hookEmitter(hooks);
    return tf.tidy(() =>
      runForward(m.cfg, m.params, prepared.tokens, atHook, {
        stopAtLayer,
        attentionMask: prepared.attentionMask,
        maskRows: prepared.maskRows,
        observes: (name) => hooks.some(([match]) => match(name)),
      }),
    );
  } finally {
    prepared.dispose();
  }
}

/** The tokens and mask a pass ran on, kept for the loss (owned by whoever asked for them). */
interface SeenTokens {
  tokens: tf.Tensor;
  attentionMask?: tf.Tensor;
}

function checkReturnType(options: ForwardOutputOptions): ReturnType {
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
function shapeOutput(
  logits: tf.Tensor,
  seen: SeenTokens | undefined,
  returnType: ReturnType,
  perToken: boolean | undefined,
): { logits?: tf.Tensor; loss?: tf.Tensor } {
  if (returnType === 'logits' || !seen) return { logits };
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
export async function runForOutput<R extends ReturnType | undefined, P extends boolean | undefined>(
  m: PassModel,
  input: ModelInput,
  options: ForwardOutputOptions,
  hooks: CompiledHooks,
): Promise<ForwardResult<R, P>> {
  const returnType = checkReturnType(options);
  const box: { seen?: SeenTokens } = {};
  let logits: tf.Tensor;
  try {
    logits = await runPass(m, input, options, hooks, seeTokens(returnType, box));
  } catch (e) {
    if (box.seen) tf.dispose([box.seen.tokens, box.seen.attentionMask ?? []]);
    throw e;
  }
  const out = shapeOutput(logits, box.seen, returnType, options.lossPerToken);
  if (returnType === 'logits') return out.logits as ForwardResult<R, P>;
  if (returnType === 'loss') return out.loss as ForwardResult<R, P>;
  return out as ForwardResult<R, P>;
}

/**
 * Runs a pass that stores every activation `keep` accepts (sliced to `posSlice`, without the
 * batch dim with `removeBatchDim`). Returns the output `returnType` asks for and the store, all
 * owned by the caller; on an error nothing stored survives.
 */
export async function runCaching(
  m: PassModel,
  input: ModelInput,
  options: RunWithCacheOptions,
  keep: (name: string) => boolean,
): Promise<{ logits?: tf.Tensor; loss?: tf.Tensor; store: Map<string, tf.Tensor> }> {
  const returnType = checkReturnType(options);
  const store = new Map<string, tf.Tensor>();
  const box: { seen?: SeenTokens } = {};
  const see = seeTokens(returnType, box);
  const capture: HookFn = (a, { name }) => {
    if (!keep(name)) return;
    // Inside the forward's tidy: keep() lets the stored copy outlive it; the store owns it.
    const stored = tf.tidy(() => {
      const sliced = options.posSlice === undefined ? a.clone() : applyPosSlice(a, name, options.posSlice);
      return options.removeBatchDim ? sliced.squeeze([0]) : sliced;
    });
    store.set(name, tf.keep(stored));
  };
  try {
    const logits = await runPass(m, input, options, [[keep, capture]], (tokens, mask) => {
      if (options.removeBatchDim && tokens.shape[0] !== 1) {
        throw new BatchDimError(`removeBatchDim needs a batch of 1; given a batch of ${tokens.shape[0]}.`);
      }
      see(tokens, mask);
    });
    const seen = box.seen;
    box.seen = undefined;
    return { ...shapeOutput(logits, seen, returnType, options.lossPerToken), store };
  } catch (e) {
    for (const t of store.values()) if (!t.isDisposed) t.dispose();
    if (box.seen) tf.dispose([box.seen.tokens, box.seen.attentionMask ?? []]);
    throw e;
  }
}

function normalizeStopAtLayer(cfg: HookedTransformerConfig, stop: number | undefined): number | undefined {
  if (stop === undefined) return undefined;
  const n = cfg.nLayers;
  if (!Number.isInteger(stop) || stop < -n || stop > n) {
    throw new BadLayerError(`stopAtLayer ${stop} given; expected an integer in [${-n}, ${n}].`);
  }
  return stop < 0 ? n + stop : stop;
}
