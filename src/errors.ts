/**
 * Every error class the library throws, each with a "given …, expected …" message.
 * graph/ owns the root class and its own errors; they are re-exported here so users
 * have one place to import from.
 */
import {
  DisposedError,
  LazylensError,
  PlanError,
  ResourceLimitError,
  ShapeError,
  SliceError,
  UnresolvedLeafError,
} from '../graph/errors.js';
import { closestNames } from './util/closestNames.js';

export {
  DisposedError,
  LazylensError,
  PlanError,
  ResourceLimitError,
  ShapeError,
  SliceError,
  UnresolvedLeafError,
};

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

// ---- the command line ----

/**
 * A bad flag value or combination found after parsing (e.g. `--layer 9` on a 2-layer model).
 * The command reports it as one line and exits with code 2, as for its own usage errors.
 */
export class UsageError extends LazylensError {
  /** The class name, as printed. */
  override readonly name = 'UsageError';
}

/** A command's failure outside the library's own errors (e.g. an unwritable `--html` path); exit code 1. */
export class CliError extends LazylensError {
  /** The class name, as printed. */
  override readonly name = 'CliError';
}

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
  /** Index of each prompt of the batch, when they are not `start`, `start + 1`, … */
  indices?: readonly number[];
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function place(w: StreamErrorWhere): string {
  if (w.promptIndex !== undefined) {
    return `prompt ${w.promptIndex}${w.batchIndex === undefined ? '' : ` (batch ${w.batchIndex})`}`;
  }
  const { indices } = w;
  let prompts = '';
  if (indices && !indices.every((i, row) => i === indices[0] + row))
    prompts = ` (prompts ${indices.join(', ')})`;
  else if (w.start !== undefined && w.size !== undefined)
    prompts = ` (prompts ${w.start}–${w.start + w.size - 1})`;
  return `batch ${w.batchIndex ?? '?'}${prompts}`;
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

// ---- the Hugging Face Hub ----

/** Something went wrong fetching a model from the Hugging Face Hub (or its local cache). */
export class HubError extends LazylensError {}

/** A model name, Hub repository or revision that does not exist (or is private and no token was given). */
export class ModelNotFoundError extends HubError {}

/** A gated or private repository the request had no access to: set `HF_TOKEN`. */
export class HubAuthError extends HubError {}

/** The Hub could not be reached (or `HF_HUB_OFFLINE=1`) and the files are not in the cache. */
export class HubUnreachableError extends HubError {}

/** A downloaded file that does not match its ETag (sha256 or git hash) or its announced size. */
export class HubIntegrityError extends HubError {}
