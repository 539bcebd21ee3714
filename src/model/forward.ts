/**
 * One forward pass of a HookedTransformer, firing TransformerLens's hook points in order.
 * Pure function of (config, parameters, tokens); the caller wraps it in `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import { deviceBindingLimit } from '../../graph/index.js';
import { InvalidArgumentError, ResourceLimitError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import type { ProjectionWeights } from './projectionWeights.js';
import { headProjection, headsOut, linear, normalize, param, softCap, type Emit } from './layers.js';
import { alibiSlopes } from './alibi.js';
import {
  attentionCore,
  attentionCoreComposition,
  contractLast,
  biasActivation,
  gatedActivation,
  someQueryBlind,
  type AttentionSpec,
} from '../backend/kernels/index.js';
import { applyRotary, rotaryTables, rotaryTablesAt, type RotaryTables } from './rotary.js';
import { kvParamName, type StateDict } from '../core/stateDict.js';
import { atLastPositions, observesFinalLn } from './demand.js';
import type { LogitsWanted } from './options.js';

export interface ForwardOptions {
  /** Run blocks [0, stopAtLayer) only and return the residual stream there (exclusive, as TL). */
  stopAtLayer?: number;
  /** [batch, pos] of 1 (real token) / 0 (padding). */
  attentionMask?: tf.Tensor;
  /** The same mask's rows on the host; needed with `attentionMask` by rotary models. */
  maskRows?: readonly (readonly number[])[];
  /**
   * Whether anything (a hook, the cache) looks at a hook point. A point nothing observes may be
   * skipped or fused away; without this option every point is observed.
   */
  observes?: (name: string) => boolean;
  /**
   * Which logits to compute (default 'all'): 'last' unembeds only each row's `lastPositions` entry
   * ([batch, 1, d_vocab_out]); 'none' stops after the blocks (and `ln_final` when it is observed)
   * and returns the residual stream there.
   */
  logits?: LogitsWanted;
  /** Each row's last real token, for `logits: 'last'` (default: the last column). */
  lastPositions?: readonly number[];
  /**
   * Each row's one position read from the final block on (its last real token), where the caller
   * reads nothing else there and its hooks only look: the final block's queries attend, and its
   * MLP and everything after run, at those positions alone (keys and values still at every
   * position). Its hook points are given [batch, pos, ...] holding each row's value at every
   * position. Used only where {@link finalRowsApply} says the result is exact; needs `logits`
   * 'last' or 'none'.
   */
  finalRows?: readonly number[];
  /**
   * Keys and values of earlier positions (a key/value cache): `tokens` are then the positions
   * after them only, and `attentionMask`, when given, covers the cached positions and these.
   */
  past?: PastKeyValues;
  /** The model's query, key and value weights laid out for the matMul (built with the model). */
  projections?: ProjectionWeights;
}

/** What a pass over new positions needs of a key/value cache. */
export interface PastKeyValues {
  /** The position id of each token this pass runs, [batch][pos], counting real tokens as {@link positionIds}. */
  readonly positions: readonly (readonly number[])[];
  /**
   * Adds one layer's keys and values of this pass ([batch, pos, kv heads, d_head], keys after
   * rotary) after the cached ones and returns those of every position so far.
   */
  extend(layer: number, keys: tf.Tensor, values: tf.Tensor): { keys: tf.Tensor; values: tf.Tensor };
}

/** Token positions for the learned positional embedding: 0.. per row, counting real tokens only. */
function positionIds(pos: number, padMask: tf.Tensor | undefined): tf.Tensor {
  if (!padMask) return tf.range(0, pos, 1, 'int32');
  // As TransformerLens: the first real token gets position 0 whatever padding precedes it.
  const one = tf.scalar(1, 'int32');
  const cum = tf.sub(tf.cumsum(tf.cast(padMask, 'int32'), 1), one);
  return tf.maximum(cum, tf.scalar(0, 'int32'));
}

/** What every block of one forward pass shares: the padding mask and, for rotary models, the rotation tables. */
interface PassContext {
  padMask: tf.Tensor | undefined;
  /** Whether some query sees no real key, per window (the same for every layer of a pass). */
  blindQueries: (window: number | undefined, qLen: number, kLen: number) => boolean | undefined;
  rotary: RotaryTables | undefined;
  observes: (name: string) => boolean;
  past: PastKeyValues | undefined;
  projections: ProjectionWeights | undefined;
  /** In the final block with {@link ForwardOptions.finalRows}: each row's one query position. */
  rows?: readonly number[];
}

/**
 * Whether some query of the pass sees no real key, for a window: known only from host mask rows
 * covering every key (else undefined, and attention keeps its guard); worked out once per window.
 */
function blindQueriesOf(rows: readonly (readonly number[])[] | undefined): PassContext['blindQueries'] {
  const known = new Map<number | undefined, boolean | undefined>();
  return (window, qLen, kLen) => {
    if (!known.has(window))
      known.set(
        window,
        rows?.every((r) => r.length === kLen) ? someQueryBlind(rows, qLen, kLen, window) : undefined,
      );
    return known.get(window);
  };
}

/** How layer `layer` scales, caps, biases and masks its attention scores. */
function attentionSpec(
  cfg: HookedTransformerConfig,
  layer: number,
  ctx: PassContext,
  qLen: number,
  kLen: number,
): AttentionSpec {
  const local = cfg.attnTypes?.[layer] === 'local' && cfg.windowSize !== null;
  const window = local ? (cfg.windowSize ?? undefined) : undefined;
  const padMask = ctx.padMask;
  const blindQueries = padMask && ctx.blindQueries(window, qLen, kLen);
  return {
    scale: cfg.useAttnScale ? cfg.attnScale : 1,
    softCap: cfg.attnScoresSoftCap,
    alibiSlopes: cfg.positionalEmbeddingType === 'alibi' ? alibiSlopes(cfg.nHeads) : undefined,
    window,
    padMask,
    blindQueries,
  };
}

function attention(
  x: tf.Tensor,
  resid: tf.Tensor,
  cfg: HookedTransformerConfig,
  params: StateDict,
  layer: number,
  ctx: PassContext,
  emit: Emit,
): tf.Tensor {
  const p = `blocks.${layer}.attn`;
  const [batch] = resid.shape;
  const project = (name: string, bias: string): tf.Tensor =>
    headProjection(x, param(params, name), param(params, bias), ctx.projections?.get(name));
  let q = emit(`${p}.hook_q`, project(`${p}.W_Q`, `${p}.b_Q`));
  let k = emit(`${p}.hook_k`, project(kvParamName(cfg, layer, 'W_K'), kvParamName(cfg, layer, 'b_K')));
  let v = emit(`${p}.hook_v`, project(kvParamName(cfg, layer, 'W_V'), kvParamName(cfg, layer, 'b_V')));
  if (ctx.rotary) {
    q = emit(`${p}.hook_rot_q`, applyRotary(q, cfg, ctx.rotary));
    k = emit(`${p}.hook_rot_k`, applyRotary(k, cfg, ctx.rotary));
  }
  if (ctx.past) ({ keys: k, values: v } = ctx.past.extend(layer, k, v));
  // One query a row, at its last real token: as the last of the key positions it sees every real
  // key of its row (none comes after it), exactly the keys it sees where it stands.
  if (ctx.rows) q = atLastPositions(q, ctx.rows);
  const pos = q.shape[1] as number;
  // Grouped keys and values stay [b, p, g, dh] (TL's hook shapes); attention indexes the group.
  // Scores and pattern are formed only when observed; otherwise webgpu runs one fused kernel.
  const [, kLen] = k.shape; // cached positions and these
  const spec = attentionSpec(cfg, layer, ctx, pos, kLen);
  const z = emit(
    `${p}.hook_z`,
    ctx.observes(`${p}.hook_attn_scores`) || ctx.observes(`${p}.hook_pattern`)
      ? attentionCoreComposition(q, k, v, spec, {
          scores: (s) => emit(`${p}.hook_attn_scores`, s),
          pattern: (t) => emit(`${p}.hook_pattern`, t),
        })
      : attentionCore(q, k, v, spec),
  );
  const W_O = param(params, `${p}.W_O`);
  const b_O = param(params, `${p}.b_O`);
  const [h, dh, d] = W_O.shape;
  let out: tf.Tensor;
  // hook_result is only formed when something reads it; otherwise one fused W_O matmul gives the same sum.
  if (cfg.useAttnResult && ctx.observes(`${p}.hook_result`)) {
    // per head: [h, b·p, dh] @ [h, dh, d] → [b, p, h, d]
    const zh = tf.reshape<tf.Rank.R3>(tf.transpose(z, [2, 0, 1, 3]), [h, batch * pos, dh]);
    const WOt = tf.transpose(W_O as tf.Tensor3D, [0, 2, 1]); // [h, d, dh]
    const perHead = tf.reshape(contractLast(zh, WOt), [h, batch, pos, d]);
    const result = emit(`${p}.hook_result`, tf.transpose(perHead, [1, 2, 0, 3]));
    out = tf.add(tf.sum(result, 2), b_O);
  } else {
    out = headsOut(z, W_O, b_O);
  }
  return out;
}

function mlp(
  x: tf.Tensor,
  cfg: HookedTransformerConfig,
  params: StateDict,
  layer: number,
  emit: Emit,
  observes: (name: string) => boolean,
): tf.Tensor {
  const p = `blocks.${layer}.mlp`;
  let post: tf.Tensor;
  if (cfg.gatedMlp) {
    // TL's GatedMLP: hook_pre is the gate before its activation, hook_pre_linear the up
    // projection, hook_post = act(pre) · pre_linear + b_in.
    const pre = emit(`${p}.hook_pre`, linear(x, param(params, `${p}.W_gate`)));
    const preLinear = emit(`${p}.hook_pre_linear`, linear(x, param(params, `${p}.W_in`)));
    post = emit(`${p}.hook_post`, gatedActivation(pre, preLinear, cfg.actFn, param(params, `${p}.b_in`)));
  } else {
    const [W_in, b_in] = [param(params, `${p}.W_in`), param(params, `${p}.b_in`)];
    // hook_pre is x·W_in + b_in: unobserved, the bias joins the activation's fused kernel.
    post = emit(
      `${p}.hook_post`,
      observes(`${p}.hook_pre`)
        ? biasActivation(emit(`${p}.hook_pre`, linear(x, W_in, b_in)), cfg.actFn)
        : biasActivation(linear(x, W_in), cfg.actFn, b_in),
    );
  }
  return linear(post, param(params, `${p}.W_out`), param(params, `${p}.b_out`));
}

/** The weighted form of the config's norm kind: folding never removes the post-sublayer norms' weights. */
function affineKind(cfg: HookedTransformerConfig): HookedTransformerConfig['normalizationType'] {
  if (cfg.normalizationType === 'LNPre') return 'LN';
  if (cfg.normalizationType === 'RMSPre') return 'RMS';
  return cfg.normalizationType;
}

function block(
  resid: tf.Tensor,
  cfg: HookedTransformerConfig,
  params: StateDict,
  layer: number,
  ctx: PassContext,
  emit: Emit,
): tf.Tensor {
  const p = `blocks.${layer}`;
  // Gemma 2 normalizes each sublayer's output again before its hook, so hook_attn_out and
  // hook_mlp_out stay what is added to the residual stream.
  const post = (x: tf.Tensor, norm: string): tf.Tensor =>
    cfg.useNormalizationBeforeAndAfter
      ? normalize(x, cfg, params, `${p}.${norm}`, emit, affineKind(cfg), ctx.observes)
      : x;
  const residPre = emit(`${p}.hook_resid_pre`, resid);
  const attnIn = normalize(residPre, cfg, params, `${p}.ln1`, emit, undefined, ctx.observes);
  const attnOut = emit(
    `${p}.hook_attn_out`,
    post(attention(attnIn, residPre, cfg, params, layer, ctx, emit), 'ln1_post'),
  );
  // With rows, everything after attention runs at each row's one position.
  const base = ctx.rows ? atLastPositions(residPre, ctx.rows) : residPre;
  if (cfg.attnOnly) return emit(`${p}.hook_resid_post`, tf.add(base, attnOut));
  if (cfg.parallelAttnMlp) {
    // GPT-J / NeoX: the MLP reads resid_pre; there is no resid_mid.
    const mlpIn = normalize(base, cfg, params, `${p}.ln2`, emit, undefined, ctx.observes);
    const mlpOut = emit(
      `${p}.hook_mlp_out`,
      post(mlp(mlpIn, cfg, params, layer, emit, ctx.observes), 'ln2_post'),
    );
    return emit(`${p}.hook_resid_post`, tf.add(tf.add(base, attnOut), mlpOut));
  }
  const residMid = emit(`${p}.hook_resid_mid`, tf.add(base, attnOut));
  const mlpIn = normalize(residMid, cfg, params, `${p}.ln2`, emit, undefined, ctx.observes);
  const mlpOut = emit(
    `${p}.hook_mlp_out`,
    post(mlp(mlpIn, cfg, params, layer, emit, ctx.observes), 'ln2_post'),
  );
  return emit(`${p}.hook_resid_post`, tf.add(residMid, mlpOut));
}

/**
 * A weight larger than one WebGPU binding would be read as garbage by every kernel that binds it
 * (a validation error, not an exception), so the forward refuses to start instead.
 */
function checkBindable(params: StateDict): void {
  const limit = deviceBindingLimit();
  if (limit === Infinity) return;
  for (const [name, t] of params) {
    const bytes = t.size * 4;
    if (bytes > limit) {
      throw new ResourceLimitError(
        `Parameter '${name}' [${t.shape.join(', ')}] is ${bytes} bytes; expected at most the ${limit} bytes this backend binds per tensor (WebGPU's maxStorageBufferBindingSize). Use another backend or a GPU with a larger limit.`,
      );
    }
  }
}

// Rotary angles are computed on the host, so a padded batch needs its mask there too.
function hostMask(
  padMask: tf.Tensor | undefined,
  rows: readonly (readonly number[])[] | undefined,
): readonly (readonly number[])[] | undefined {
  if (padMask && !rows) {
    throw new InvalidArgumentError('A rotary model given attentionMask without maskRows; expected both.');
  }
  return padMask ? rows : undefined;
}

/**
 * Runs the model on int32 `tokens` [batch, pos] and returns logits [batch, pos, d_vocab_out], or
 * the residual stream [batch, pos, d_model] before block `stopAtLayer` when that is given.
 */
export function runForward(
  cfg: HookedTransformerConfig,
  params: StateDict,
  tokens: tf.Tensor,
  emit: Emit,
  options: ForwardOptions = {},
): tf.Tensor {
  checkBindable(params);
  const [batch, pos] = tokens.shape;
  const padMask = options.attentionMask;
  let embed = tf.gather(param(params, 'embed.W_E'), tokens);
  // BLOOM normalizes the embedding; TL's LayerNorm there keeps its weights through folding.
  if (cfg.postEmbeddingLn) embed = normalize(embed, cfg, params, 'embed.ln', emit, 'LN');
  let resid = emit('hook_embed', embed);
  const past = options.past;
  if (cfg.positionalEmbeddingType === 'standard') {
    const ids = past
      ? tf.tensor2d(past.positions as number[][], undefined, 'int32')
      : positionIds(pos, padMask);
    let posEmbed = tf.gather(param(params, 'pos_embed.W_pos'), ids);
    // The same rows for every sequence, broadcast to the hook's [batch, pos, d] by adding zeros:
    // one vectorised pass on every backend (0.5 ms at 8×128×768 on wasm, where tfjs's own Tile,
    // behind broadcastTo, took 107 ms before lazylens's heap kernel replaced it).
    if (posEmbed.rank === 2) posEmbed = tf.add(tf.expandDims(posEmbed, 0), tf.zeros([batch, 1, 1]));
    // Padding positions contribute no positional embedding (TransformerLens zeroes them).
    const ownMask =
      padMask && past ? tf.slice(padMask, [0, (padMask.shape[1] ?? pos) - pos], [batch, pos]) : padMask;
    if (ownMask) posEmbed = tf.mul(posEmbed, tf.expandDims(tf.cast(ownMask, 'float32'), -1));
    resid = tf.add(resid, emit('hook_pos_embed', posEmbed));
  }
  const stop = options.stopAtLayer ?? cfg.nLayers;
  const ctx: PassContext = {
    padMask,
    blindQueries: blindQueriesOf(options.maskRows),
    observes: options.observes ?? (() => true),
    past,
    projections: options.projections,
    rotary:
      cfg.positionalEmbeddingType !== 'rotary'
        ? undefined
        : past
          ? rotaryTablesAt(cfg, past.positions)
          : rotaryTables(cfg, batch, pos, hostMask(padMask, options.maskRows)),
  };
  const finalRows = finalRowsApply(cfg, options) ? options.finalRows : undefined;
  const spread = finalRows && spreadingEmit(emit, pos);
  for (let l = 0; l < stop; l++) {
    const input = resid;
    const [blockCtx, blockEmit] =
      finalRows && spread && l === cfg.nLayers - 1 ? [{ ...ctx, rows: finalRows }, spread] : [ctx, emit];
    // One tidy per block: its intermediates are freed as soon as the block is done, so a forward
    // holds one block's temporaries at a time (cached activations are kept by the cache's hook).
    resid = tf.tidy(() => block(input, cfg, params, l, blockCtx, blockEmit));
  }
  if (options.stopAtLayer !== undefined) return resid;
  return unembed(resid, cfg, params, spread ?? emit, ctx.observes, options, finalRows !== undefined);
}

/**
 * Whether {@link ForwardOptions.finalRows} gives the same values at those rows as the whole block:
 * every block runs, with no key/value cache, and the final block's attention does not depend on
 * where its query stands beyond which keys it sees (no ALiBi, whose scores shift with the query's
 * position, and no local window).
 */
export function finalRowsApply(cfg: HookedTransformerConfig, options: ForwardOptions): boolean {
  const last = cfg.nLayers - 1;
  return (
    options.finalRows !== undefined &&
    options.stopAtLayer === undefined &&
    options.past === undefined &&
    (options.logits === 'last' || options.logits === 'none') &&
    cfg.positionalEmbeddingType !== 'alibi' &&
    !(cfg.attnTypes?.[last] === 'local' && cfg.windowSize !== null)
  );
}

/**
 * `emit` for the final block under `finalRows`: an activation computed at one position a row
 * ([b, 1, ...], or [b, h, 1, k] for scores and patterns) is given to the hooks broadcast to all
 * `pos` positions. The hooks there only look (the caller's promise): one that replaced the
 * activation would be a bug.
 */
function spreadingEmit(emit: Emit, pos: number): Emit {
  return (name, x) => {
    const axis = name.endsWith('.hook_attn_scores') || name.endsWith('.hook_pattern') ? 2 : 1;
    if (pos === 1 || x.shape[axis] !== 1) return emit(name, x);
    const full = tf.broadcastTo(
      x,
      x.shape.map((n, i) => (i === axis ? pos : n)),
    );
    if (emit(name, full) !== full) throw new Error(`internal: a hook replaced ${name} under finalRows`);
    return x;
  };
}

/** ln_final and the unembedding at the positions `options.logits` asks for. */
function unembed(
  resid: tf.Tensor,
  cfg: HookedTransformerConfig,
  params: StateDict,
  emit: Emit,
  observes: (name: string) => boolean,
  options: ForwardOptions,
  atRowsAlready = false,
): tf.Tensor {
  const want = options.logits ?? 'all';
  const lnSeen = observesFinalLn(observes);
  if (want === 'none')
    return lnSeen ? normalize(resid, cfg, params, 'ln_final', emit, undefined, observes) : resid;
  const [batch, pos] = resid.shape;
  const rows = options.lastPositions ?? Array.from({ length: batch }, () => pos - 1);
  const last = (x: tf.Tensor): tf.Tensor =>
    want === 'last' && !atRowsAlready ? atLastPositions(x, rows) : x;
  // The norm acts per position, so it can run after the gather, unless its hooks must see every position.
  const normed = lnSeen
    ? last(normalize(resid, cfg, params, 'ln_final', emit, undefined, observes))
    : normalize(last(resid), cfg, params, 'ln_final', emit, undefined, observes);
  const logits = linear(normed, param(params, 'unembed.W_U'), param(params, 'unembed.b_U'));
  return cfg.outputLogitsSoftCap > 0 ? softCap(logits, cfg.outputLogitsSoftCap) : logits;
}
