/**
 * Text generation as TransformerLens's `generate`: append one token per step, chosen from the
 * last position's logits (greedy at temperature 0, else sampled with optional top-k / top-p), until
 * `maxNewTokens` or, with `stopAtEos`, until every sequence has produced EOS (finished sequences
 * are padded with EOS). With the key/value cache (the default, as TL's `use_past_kv_cache`) the
 * first step runs the prompt and each later step only the token just added; without it each step
 * re-runs the whole sequence. Hooks fire on the positions each step runs.
 */
import * as tf from '@tensorflow/tfjs';
import { InvalidArgumentError, LazylensError, TokenError } from '../errors.js';
import { toTokens } from '../core/tokens.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { OptionKeys } from '../core/checkOptions.js';
import { mulberry32 } from '../util/mulberry32.js';
import { runIncremental } from './incrementalPass.js';
import { KeyValueCache } from './kvCache.js';
import { runPass, type CompiledHooks, type PassModel } from './runPass.js';

/** Options of {@link HookedTransformer.generate}; defaults as TransformerLens's `generate`. */
export interface GenerateOptions {
  /** Tokens to add (default 10, as TL). */
  maxNewTokens?: number;
  /** Softmax temperature (default 1); 0 picks the most likely token (greedy). */
  temperature?: number;
  /** Sample only among the k most likely tokens. */
  topK?: number;
  /** Sample only among the most likely tokens whose probabilities reach p (nucleus sampling). */
  topP?: number;
  /** Sample (default true, as TL); false is greedy whatever the temperature. */
  doSample?: boolean;
  /** Seed of the sampler, for reproducible samples (default: a random seed). */
  seed?: number;
  /** Stop a sequence at EOS and pad it with EOS; stop when all have (default true, as TL). */
  stopAtEos?: boolean;
  /** The EOS id (default: the tokenizer's). Without one, sequences never stop early. */
  eosTokenId?: number;
  /** Prepend BOS to a text prompt (default `cfg.defaultPrependBos`). */
  prependBos?: boolean;
  /**
   * Run each step on the new token only, attending to the keys and values cached from the earlier
   * ones (default true, as TL's `use_past_kv_cache`); false re-runs the whole sequence every step.
   * Both give the same tokens.
   */
  useKvCache?: boolean;
  /**
   * [batch][pos] of 1 (token) / 0 (padding) for token-id prompts of different lengths padded on
   * the left: padding is never attended to and positions count real tokens only. The tokens
   * generated are all real.
   */
  attentionMask?: readonly (readonly number[])[];
}

/** The keys `generate` accepts. */
export const GENERATE_KEYS = {
  maxNewTokens: true,
  temperature: true,
  topK: true,
  topP: true,
  doSample: true,
  seed: true,
  stopAtEos: true,
  eosTokenId: true,
  prependBos: true,
  useKvCache: true,
  attentionMask: true,
} as const satisfies OptionKeys<GenerateOptions>;

/** What generation needs of a model: its config, parameters, tokenizer, and the hooks every step calls. */
export interface GenerativeModel extends PassModel {
  /** Hooks called at every hook point of every step (on the positions that step runs). */
  readonly hooks?: CompiledHooks;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** One sampled id from logits, after temperature, top-k and top-p filtering. */
function sample(
  row: Float32Array,
  opts: { temperature: number; topK?: number; topP?: number },
  random: () => number,
): number {
  const scaled = Array.from(row, (x) => x / opts.temperature);
  // Candidates by decreasing logit; top-k keeps ties with the k-th (as TL's threshold mask).
  let order = scaled.map((_, i) => i).sort((a, b) => scaled[b] - scaled[a] || a - b);
  if (opts.topK !== undefined && opts.topK < order.length) {
    const kth = scaled[order[opts.topK - 1]];
    order = order.filter((i) => scaled[i] >= kth);
  }
  const top = scaled[order[0]];
  let probs = order.map((i) => Math.exp(scaled[i] - top));
  let total = probs.reduce((a, b) => a + b, 0);
  if (opts.topP !== undefined && opts.topP < 1) {
    // Keep the shortest prefix whose probability reaches p (at least one token).
    let cum = 0;
    let keep = 0;
    while (keep < order.length && cum < opts.topP * total) cum += probs[keep++];
    order = order.slice(0, Math.max(keep, 1));
    probs = probs.slice(0, order.length);
    total = probs.reduce((a, b) => a + b, 0);
  }
  let r = random() * total;
  for (let i = 0; i < order.length; i++) {
    r -= probs[i];
    if (r <= 0) return order[i];
  }
  return order[order.length - 1];
}

/** Picking a token from NaN or infinite logits would silently return garbage (argmax of NaN is 0). */
function checkFinite(data: Float32Array, vocab: number, step: number): void {
  const bad = data.findIndex((x) => !Number.isFinite(x));
  if (bad < 0) return;
  throw new LazylensError(
    `generate: the logits are not finite (NaN or ±Infinity) at step ${step}, row ${Math.floor(bad / vocab)}, ` +
      `so no token can be picked; expected finite logits (check the weights, or hooks that patch activations).`,
  );
}

function isIdRows(x: unknown): x is readonly (readonly number[])[] {
  return Array.isArray(x) && x.every((r) => Array.isArray(r));
}

function checkOptions(o: GenerateOptions): void {
  const fail = (what: string): never => {
    throw new InvalidArgumentError(what);
  };
  const n = o.maxNewTokens;
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0))
    fail(`maxNewTokens ${n} given; expected an integer ≥ 0.`);
  const t = o.temperature;
  if (t !== undefined && !(Number.isFinite(t) && t >= 0))
    fail(`temperature ${t} given; expected a number ≥ 0.`);
  const k = o.topK;
  if (k !== undefined && (!Number.isSafeInteger(k) || k < 1))
    fail(`topK ${k} given; expected an integer ≥ 1.`);
  const p = o.topP;
  if (p !== undefined && !(p > 0 && p <= 1)) fail(`topP ${p} given; expected a number in (0, 1].`);
  const c = o.useKvCache;
  if (c !== undefined && typeof c !== 'boolean')
    fail(`useKvCache ${String(c)} given; expected true or false.`);
}

/** The prompt's mask as fresh rows, checked against the prompt's shape; undefined without one. */
function maskRows(
  mask: readonly (readonly number[])[] | undefined,
  rows: readonly (readonly number[])[],
): number[][] | undefined {
  if (mask === undefined) return undefined;
  const ok =
    isIdRows(mask) &&
    mask.length === rows.length &&
    mask.every((r, b) => r.length === rows[b].length && r.every((x) => x === 0 || x === 1));
  if (!ok) {
    const given = isIdRows(mask)
      ? `${mask.length} rows of lengths ${mask.map((r) => r.length).join(', ')}`
      : typeof mask;
    throw new InvalidArgumentError(
      `attentionMask: given ${given}; expected [${rows.length}][${rows[0]?.length ?? 0}] of 0 (padding) / 1 (token), the prompt's shape.`,
    );
  }
  return mask.map((r) => Array.from(r));
}

/**
 * Generates a continuation. A string gives back the text (prompt + continuation; a prepended BOS
 * is not part of it, as TL); token ids [batch][pos] give back the ids (prompt + new tokens).
 * @throws TokenError when prompt + maxNewTokens exceeds n_ctx; InvalidArgumentError for bad options.
 */
export async function generate(
  model: GenerativeModel,
  input: string,
  options?: GenerateOptions,
): Promise<string>;
export async function generate(
  model: GenerativeModel,
  input: readonly (readonly number[])[],
  options?: GenerateOptions,
): Promise<number[][]>;
export async function generate(
  model: GenerativeModel,
  input: string | readonly (readonly number[])[],
  options: GenerateOptions = {},
): Promise<string | number[][]> {
  checkOptions(options);
  const { cfg, tokenizer } = model;
  const maxNew = options.maxNewTokens ?? 10;
  const temperature = options.temperature ?? 1;
  const greedy = options.doSample === false || temperature === 0;
  const random = mulberry32(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const eos = options.eosTokenId ?? tokenizer?.eosTokenId ?? null;
  const stopAtEos = (options.stopAtEos ?? true) && eos !== null;

  let rows: number[][];
  let bosPrepended = false;
  if (typeof input === 'string') {
    if (!tokenizer)
      throw new InvalidArgumentError('Text input needs a tokenizer; this model has none. Pass token ids.');
    bosPrepended = options.prependBos ?? cfg.defaultPrependBos;
    rows = toTokens(tokenizer, cfg, input, { prependBos: bosPrepended, truncate: false }).ids;
  } else {
    if (!isIdRows(input))
      throw new InvalidArgumentError('generate takes a string or token ids [batch][pos].');
    rows = input.map((r) => Array.from(r));
  }
  const longest = Math.max(...rows.map((r) => r.length));
  if (longest + maxNew > cfg.nCtx) {
    throw new TokenError(
      `The prompt has ${longest} tokens and ${maxNew} more are asked for; expected at most nCtx = ${cfg.nCtx} in all.`,
    );
  }

  const mask = maskRows(options.attentionMask, rows);
  const hooks = model.hooks ?? [];
  // Owned here and freed on every way out, thrown errors included.
  const cache = options.useKvCache === false ? undefined : new KeyValueCache(cfg, rows.length);
  try {
    const finished = rows.map(() => false);
    // Logits of the positions one step runs: with the cache, the prompt and then the last token
    // alone; without it, the whole sequence every time.
    const runStep = async (step: number): Promise<tf.Tensor> => {
      if (!cache) {
        // Only each row's last real token is read: the unembedding runs there alone.
        const out = await runPass(
          model,
          rows,
          { ...(mask ? { attentionMask: mask } : {}), logits: 'last' },
          hooks,
        );
        if (!out) throw new LazylensError('generate: the pass returned no logits.');
        return out;
      }
      // Only the last column's logits are read (the prompt is padded on the left).
      if (step === 0) return runIncremental(model, rows, cache, hooks, mask, 'last');
      return runIncremental(
        model,
        rows.map((r) => r.slice(-1)),
        cache,
        hooks,
      );
    };
    for (let step = 0; step < maxNew; step++) {
      const logits = await runStep(step);
      const [b, p, v] = logits.shape as [number, number, number];
      // A gather, not a slice: on wasm a slice reads its whole input first.
      const last = tf.tidy(() => tf.reshape(p === 1 ? logits : tf.gather(logits, [p - 1], 1), [b, v]));
      logits.dispose();
      const data = await last.data<'float32'>();
      last.dispose();
      checkFinite(data, v, step);
      rows.forEach((row, i) => {
        const logitsRow = data.subarray(i * v, (i + 1) * v);
        const next = finished[i]
          ? (eos as number)
          : greedy
            ? argmax(logitsRow)
            : sample(logitsRow, { temperature, topK: options.topK, topP: options.topP }, random);
        row.push(next);
        // Generated tokens are real: the no-cache pass sees them unmasked (the cache adds them so).
        mask?.[i].push(1);
        if (stopAtEos && next === eos) finished[i] = true;
      });
      if (stopAtEos && finished.every(Boolean)) break;
    }
  } finally {
    cache?.dispose();
  }
  if (typeof input !== 'string') return rows;
  return (tokenizer as ModelTokenizer).decode(bosPrepended ? rows[0].slice(1) : rows[0]);
}
