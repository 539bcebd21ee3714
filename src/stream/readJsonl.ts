/**
 * Prompt records from a JSON Lines file, read lazily (one line at a time, as the stream asks).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InvalidArgumentError } from '../errors.js';
import type { PromptRecord } from './CacheBatch.js';

/**
 * Each non-blank line of `path` as a record: an object with `prompt` (text or token ids) and
 * optional `answer` and other fields, or a bare JSON string (the prompt).
 * @throws InvalidArgumentError naming the file and line of invalid JSON or a line without a prompt.
 */
export async function* readJsonl(path: string): AsyncGenerator<PromptRecord> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (let line of lines) {
      lineNo++;
      // Editors on Windows often start UTF-8 files with a byte-order mark; it is not part of the JSON.
      if (lineNo === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new InvalidArgumentError(`${path}:${lineNo}: invalid JSON (${(e as Error).message}).`);
      }
      if (typeof value === 'string') yield { prompt: value };
      else if (value !== null && typeof value === 'object' && 'prompt' in value) yield value as PromptRecord;
      else
        throw new InvalidArgumentError(
          `${path}:${lineNo}: expected a JSON object with "prompt" (or a JSON string); given ${line.slice(0, 60)}.`,
        );
    }
  } finally {
    lines.close();
  }
}
