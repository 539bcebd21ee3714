/**
 * The error a prompt stream ends with: it names the prompt (or the batch and its prompt range)
 * where things went wrong, and keeps the original error as `cause`.
 */
import { LazylensError } from '../errors.js';

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
  readonly promptIndex?: number;
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
