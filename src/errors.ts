/**
 * Every error class the library throws, each with a "given …, expected …" message.
 * graph/ owns the root class and its own errors; they are re-exported here so users
 * have one place to import from.
 */
import { LazylensError } from '../graph/errors.js';

export { LazylensError };

/** Up to `n` candidates nearest to `given` by edit distance, nearest first. */
export function closestNames(given: string, candidates: Iterable<string>, n = 3): string[] {
  // Also compare against the short form (`blocks.3.attn.hook_z` → `z`), so shorthand finds its hooks.
  const short = (s: string): string => s.replace(/^blocks\.\d+\./, '').replace(/(^|\.)hook_/, '$1');
  const scored = [...new Set(candidates)].map((c) => ({
    c,
    d: Math.min(editDistance(given, c), editDistance(short(given), short(c)) + 0.5),
  }));
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  return scored.slice(0, n).map((s) => s.c);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

function suggestion(given: string, candidates: Iterable<string>): string {
  const near = closestNames(given, candidates);
  return near.length ? ` Did you mean ${near.map((s) => `'${s}'`).join(', ')}?` : '';
}

/** A hook or cache key that does not exist; suggests the nearest valid names. */
export class UnknownKeyError extends LazylensError {
  /**
   * @param given the key that was asked for.
   * @param candidates the valid names, searched for the three nearest.
   * @param what names the kind of key in the message (`'cache key'`, `'hook name'`).
   */
  constructor(
    readonly given: string,
    candidates: Iterable<string>,
    what = 'key',
  ) {
    super(`Unknown ${what} '${given}'.${suggestion(given, candidates)}`);
  }
}

/** A layer index outside [0, nLayers] (or the range a method accepts). */
export class BadLayerError extends LazylensError {}

/** A backend that was asked for and could not start, or no backend at all. */
export class BackendError extends LazylensError {}

/** A checkpoint that is corrupt, truncated, or does not match its config. */
export class CheckpointError extends LazylensError {}

/**
 * A model whose float32 weights cannot fit in what a backend can address; raised before any
 * weight is read, with the numbers and a backend that can hold it.
 */
export class ModelTooLargeError extends LazylensError {
  constructor(
    message: string,
    /** Parameters the model holds (from its config). */
    readonly parameterCount: number,
    /** The backend that cannot hold them. */
    readonly backend: string,
    /** Most bytes of weights that backend can hold. */
    readonly limitBytes: number,
  ) {
    super(message);
  }
}

/** A config that lazylens cannot build a model from (e.g. an unsupported architecture). */
export class ConfigError extends LazylensError {}

/** Tokens or text that cannot be used: empty, too long, out of vocabulary, not a single token. */
export class TokenError extends LazylensError {}

/** An argument of the wrong kind or shape, outside the cases above. */
export class InvalidArgumentError extends LazylensError {}

/** Removing the batch dim of a cache whose batch is not 1, or slicing a batchless cache. */
export class BatchDimError extends LazylensError {}

// ---- streams: where in a stream of prompts an error happened ----

/** Where in the stream an error happened. */
export interface StreamErrorWhere {
  /** Index of the prompt at fault, counting from 0 over the whole stream. */
  promptIndex?: number;
  /** Index of the batch at fault. */
  batchIndex?: number;
  /** Index of the batch's first prompt. */
  start?: number;
  /** Number of prompts in the batch. */
  size?: number;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function place(w: StreamErrorWhere): string {
  if (w.promptIndex !== undefined) {
    return `prompt ${w.promptIndex}${w.batchIndex === undefined ? '' : ` (batch ${w.batchIndex})`}`;
  }
  const range =
    w.start === undefined || w.size === undefined ? '' : ` (prompts ${w.start}–${w.start + w.size - 1})`;
  return `batch ${w.batchIndex ?? '?'}${range}`;
}

/** An error raised while streaming prompts; `promptIndex` / `batchIndex` say where. */
export class StreamError extends LazylensError {
  /** Index of the prompt at fault, when one prompt is. */
  readonly promptIndex?: number;
  /** Index of the batch at fault. */
  readonly batchIndex?: number;

  constructor(where: StreamErrorWhere, cause: unknown) {
    super(`${place(where)}: ${messageOf(cause)}`);
    this.cause = cause;
    this.promptIndex = where.promptIndex;
    this.batchIndex = where.batchIndex;
  }

  /** `e` unchanged when it already says where it happened, else wrapped with `where`. */
  static wrap(e: unknown, where: StreamErrorWhere): StreamError {
    return e instanceof StreamError ? e : new StreamError(where, e);
  }
}
