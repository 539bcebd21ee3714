/**
 * A caching pass that also takes the gradient of a scalar metric of the output with respect to
 * every cached activation (TransformerLens's `run_with_cache(incl_bwd=True)`), through tfjs's
 * autodiff. Each observed hook point gets an identity op with a custom gradient that reports the
 * gradient flowing through it; a zero scalar added to the embeddings is the only "input" the tape
 * differentiates with respect to, so the embedding lookups (a gather, whose gradient needs a kernel
 * wasm lacks) are never differentiated and the weights get no gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { prepareTokens, type ModelInput } from '../core/prepareTokens.js';
import { BatchDimError, InvalidArgumentError, TokenError } from '../errors.js';
import { runForward } from './forward.js';
import { dispatchHooks, hookLayer, passLocalCtx, type CompiledHooks, type HookFn } from './hooks.js';
import type { RunWithCacheOptions } from './options.js';
import {
  cachedCopy,
  checkReturnType,
  normalizeStopAtLayer,
  shapeOutput,
  type PassModel,
  type SeenTokens,
} from './runPass.js';

/** A scalar function of the model's output (logits, or the residual with `stopAtLayer`). */
export type Metric = (output: tf.Tensor) => tf.Tensor;

/** The hooks of a gradient pass: forward hooks (lasting ones first) and backward hooks. */
export interface GradHooks {
  fwd: CompiledHooks;
  bwd: CompiledHooks;
}

/** The suffix TransformerLens gives a gradient's cache key: `blocks.0.hook_resid_pre_grad`. */
export const GRAD_SUFFIX = '_grad';

/**
 * Runs the pass, caches what `keep` accepts and, for each of those points the metric depends on,
 * its gradient under `<name>_grad`; backward hooks see the gradient at their points. Returns the
 * output `returnType` asks for and the store, owned by the caller; on an error nothing survives.
 * @param metric the scalar to differentiate; without it, the mean next-token loss.
 */
export async function runCachingWithGrads(
  m: PassModel,
  input: ModelInput,
  options: RunWithCacheOptions,
  keep: (name: string) => boolean,
  hooks: GradHooks,
  metric: Metric | undefined,
): Promise<{ logits?: tf.Tensor; loss?: tf.Tensor; store: Map<string, tf.Tensor> }> {
  const returnType = checkReturnType(options);
  const stopAtLayer = normalizeStopAtLayer(m.cfg, options.stopAtLayer);
  const prepared = await prepareTokens(input, m.cfg, m.tokenizer, options);
  const store = new Map<string, tf.Tensor>();
  const grads = new Map<string, tf.Tensor>();
  const owned: tf.Tensor[] = [];
  let seen: SeenTokens | undefined;
  try {
    const { tokens, attentionMask } = prepared;
    if (options.removeBatchDim && tokens.shape[0] !== 1) {
      throw new BatchDimError(`removeBatchDim needs a batch of 1; given a batch of ${tokens.shape[0]}.`);
    }
    if (!metric && stopAtLayer !== undefined) {
      throw new InvalidArgumentError(
        'inclBwd without a metric differentiates the loss, but stopAtLayer returns the residual stream; give a metric.',
      );
    }
    if (returnType !== 'logits') {
      seen = { tokens: tokens.clone(), attentionMask: attentionMask?.clone() };
    }
    const scalarMetric: Metric = metric ?? ((logits) => lossForGrad(logits, tokens, attentionMask));
    const ctxOf = m.hookCtx ?? passLocalCtx();
    const failures: unknown[] = [];
    const record = gradientRecorder(hooks.bwd, keep, ctxOf, options, grads, failures);
    const capture: HookFn = (a, { name }) => {
      if (keep(name)) store.set(name, cachedCopy(a, name, options));
    };
    const dispatch = dispatchHooks([...hooks.fwd, [keep, capture]], ctxOf);
    const traced = (name: string): boolean => keep(name) || hooks.bwd.some(([match]) => match(name));
    const zero = tf.scalar(0);
    owned.push(zero);
    const box: { output?: tf.Tensor } = {};
    const f = (delta: tf.Tensor): tf.Scalar => {
      try {
        const emit = (name: string, x: tf.Tensor): tf.Tensor => {
          // The embeddings are where the tape starts: every activation downstream depends on `delta`.
          const start = name === 'hook_embed' || name === 'hook_pos_embed' ? tf.add(x, delta) : x;
          const a = dispatch(name, start);
          return traced(name) ? record(name)(a) : a;
        };
        const out = runForward(m.cfg, m.params, tokens, emit, {
          stopAtLayer,
          attentionMask,
          maskRows: prepared.maskRows,
          projections: m.projections,
          observes: (name) => name === 'hook_embed' || name === 'hook_pos_embed' || traced(name),
        });
        box.output = tf.keep(out);
        const y = scalarMetric(out);
        if (!(y instanceof tf.Tensor) || y.rank !== 0) {
          const what = y instanceof tf.Tensor ? `a tensor of shape [${y.shape.join(', ')}]` : typeof y;
          throw new InvalidArgumentError(`metric returned ${what}; expected a scalar tf.Tensor (shape []).`);
        }
        return y as tf.Scalar;
      } catch (e) {
        // Throwing here would leave the tape's saved tensors behind; finish the pass on a stand-in
        // that depends on delta, and rethrow afterwards.
        failures.push(e);
        return tf.mul<tf.Scalar>(delta, 0);
      }
    };
    try {
      // The tidy frees the metric and delta's gradient, and on a failure the forward's output;
      // what the pass stores is kept.
      tf.tidy(() => {
        tf.valueAndGrad(f)(zero);
      });
    } catch (e) {
      releaseTape();
      if (failures.length === 0 && /Cannot compute gradient/.test(String(e))) {
        throw new InvalidArgumentError(
          'inclBwd: the metric does not depend on any activation of the model; expected a function of its output.',
        );
      }
      if (failures.length === 0 && /UnsortedSegmentSum/.test(String(e))) {
        throw new InvalidArgumentError(
          `inclBwd: the backward pass needs an op whose gradient backend '${tf.getBackend()}' cannot compute (tf.gather's gradient needs UnsortedSegmentSum); if the metric uses tf.gather, pick logits with tf.slice, or a one-hot product, instead.`,
        );
      }
      throw failures[0] ?? e;
    } finally {
      if (box.output) owned.push(box.output);
    }
    if (failures.length > 0) throw failures[0];
    // Gradients follow the activations, in the order the forward fired their points.
    for (const name of store.keys()) {
      const gname = name + GRAD_SUFFIX;
      const gt = grads.get(gname);
      if (gt) store.set(gname, gt);
    }
    grads.clear();
    const output = box.output as tf.Tensor;
    owned.splice(owned.indexOf(output), 1);
    const s = seen;
    seen = undefined;
    return { ...shapeOutput(output, s, returnType, options.lossPerToken), store };
  } catch (e) {
    for (const t of [...store.values(), ...grads.values()]) if (!t.isDisposed) t.dispose();
    if (seen) tf.dispose([seen.tokens, seen.attentionMask ?? []]);
    throw e;
  } finally {
    tf.dispose(owned);
    prepared.dispose();
  }
}

/**
 * After a backward pass failed inside tfjs (a kernel without a gradient), the tensors its tape
 * saved for the backward are still held, and tfjs frees them only at the end of a successful
 * pass; free them here so a failed call leaks nothing. Reaches into the engine's state, which
 * tfjs does not expose, so every field is checked before use.
 */
function releaseTape(): void {
  const engine = tf.engine() as unknown as {
    state?: { gradientDepth?: number; activeTape?: { saved?: tf.Tensor[] }[] | null };
  };
  const state = engine.state;
  if (!state || state.gradientDepth !== 0 || !Array.isArray(state.activeTape)) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) if (!t.isDisposed) t.dispose();
  state.activeTape = null;
}

/**
 * The mean next-token loss as `forward({ returnType: 'loss' })`, written for the tape: the target
 * log-probs are picked with a mask rather than a gather, whose gradient wasm cannot compute.
 */
function lossForGrad(logits: tf.Tensor, tokens: tf.Tensor, attentionMask: tf.Tensor | undefined): tf.Tensor {
  const [b, p, v] = logits.shape;
  if (p < 2) throw new TokenError(`The loss needs at least 2 tokens per sequence; given ${p}.`);
  const logProbs = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [b, p - 1, v]));
  const targets = tf.cast(tf.slice(tokens, [0, 1], [b, p - 1]), 'int32');
  const isTarget = tf.equal(tf.expandDims(targets, -1), tf.range(0, v, 1, 'int32'));
  // where, not a one-hot product: a −Inf log-prob elsewhere in the row would make 0·−Inf = NaN.
  let picked = tf.sum(tf.where(isTarget, logProbs, tf.zerosLike(logProbs)), -1);
  let count: tf.Tensor = tf.scalar(b * (p - 1));
  if (attentionMask) {
    const real = tf.cast(attentionMask, 'bool');
    const kept = tf.logicalAnd(tf.slice(real, [0, 0], [b, p - 1]), tf.slice(real, [0, 1], [b, p - 1]));
    picked = tf.where(kept, picked, tf.zerosLike(picked));
    count = tf.sum(tf.cast(kept, 'float32'));
  }
  return tf.neg(tf.div(tf.sum(picked), count));
}

/**
 * Makes, per hook point, an identity op whose gradient function stores the incoming gradient
 * (under `<name>_grad`, when the point is cached) and calls the backward hooks there. Each
 * backward hook sees the gradient arriving at its point; a returned tensor replaces the gradient
 * passed on to earlier points (the last one returned wins), as a PyTorch full backward hook's
 * return value replaces its input gradient. Errors are collected, not thrown, so that the tape
 * is always cleaned up.
 */
function gradientRecorder(
  bwd: CompiledHooks,
  keep: (name: string) => boolean,
  ctxOf: (name: string) => Record<string, unknown>,
  options: RunWithCacheOptions,
  grads: Map<string, tf.Tensor>,
  failures: unknown[],
): (name: string) => (x: tf.Tensor) => tf.Tensor {
  return (name) =>
    tf.customGrad<tf.Tensor>((x) => ({
      value: (x as tf.Tensor).clone(),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => {
        const g = Array.isArray(dy) ? dy[0] : dy;
        if (keep(name)) grads.set(name + GRAD_SUFFIX, cachedCopy(g, name, options));
        let passed = g;
        const hookCtx = { name, layer: hookLayer(name), ctx: ctxOf(name) };
        for (const [match, fn] of bwd) {
          if (!match(name)) continue;
          try {
            const r = fn(g, hookCtx);
            if (r === undefined || r === null) continue;
            checkGradReplacement(name, g, r);
            passed = r;
          } catch (e) {
            failures.push(e);
          }
        }
        // A replacement stays its owner's; the tape disposes what it is given.
        return passed === g ? g : passed.clone();
      },
    }));
}

function checkGradReplacement(name: string, g: tf.Tensor, r: unknown): asserts r is tf.Tensor {
  if (!(r instanceof tf.Tensor) || r.isDisposed) {
    throw new InvalidArgumentError(
      `The backward hook at '${name}' returned ${r instanceof tf.Tensor ? 'a disposed tensor' : typeof r}; expected a live tf.Tensor or nothing.`,
    );
  }
  const t = r as tf.Tensor;
  const shape: number[] = t.shape;
  if (shape.join() !== g.shape.join() || t.dtype !== g.dtype) {
    throw new InvalidArgumentError(
      `The backward hook at '${name}' returned ${t.dtype} [${shape.join(', ')}]; expected the gradient's ${g.dtype} [${g.shape.join(', ')}].`,
    );
  }
}
