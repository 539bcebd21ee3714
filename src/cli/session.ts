/**
 * What every command shares: the global options, loading the model with a progress bar, the
 * prompt, and printing the result as text, JSON and an HTML report.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { HookedTransformer } from '../model/HookedTransformer.js';
import { preparePrompt } from './analyses.js';
import { type PromptInfo } from '../analysis/types.js';
import { type Io } from './io.js';
import { CliError } from '../errors.js';
import { Progress } from './progress.js';
import { writeFileAtomic } from './atomicFile.js';
import { promptFromTokens } from './tokensPrompt.js';

/** The shipped model every command uses by default. */
export const DEFAULT_MODEL = 'induction-2l';

export interface GlobalOptions {
  model: string;
  prompt?: string;
  /** `--tokens`: the prompt as token ids. */
  tokens?: number[];
  html?: string;
  json?: boolean;
  verbose?: boolean;
}

/** What a command's body gets. */
export interface Session {
  model: HookedTransformer;
  prompt: PromptInfo;
  progress: Progress;
  /** The model as the user named it (shown in output). */
  label: string;
}

/** What a command's body returns: the data, its text form, and its report. */
export interface Output {
  json: unknown;
  text: string;
  html?: () => string;
}

/** Fails early (before loading anything) when `--html FILE` cannot be written. */
export function checkWritable(path: string): void {
  const full = resolve(path);
  const dir = dirname(full);
  const fail = (why: string): never => {
    throw new CliError(
      `Cannot write the report to ${JSON.stringify(path)}: ${why}; expected a writable file path.`,
    );
  };
  if (existsSync(full) && statSync(full).isDirectory()) fail('it is a directory');
  if (!existsSync(dir)) fail(`the folder ${JSON.stringify(dir)} does not exist`);
  if (!statSync(dir).isDirectory()) fail(`${JSON.stringify(dir)} is not a folder`);
  try {
    accessSync(existsSync(full) ? full : dir, constants.W_OK);
  } catch {
    fail('permission denied');
  }
}

function downloaded(bytes: number, total: number | undefined): string {
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  return total ? `${mb(bytes)} / ${mb(total)}` : mb(bytes);
}

/**
 * Loads the model, prepares the prompt, runs `body` as `steps` progress steps, prints its output
 * and writes the report; the model is disposed whatever happens.
 */
export async function withSession(
  io: Io,
  opts: GlobalOptions,
  steps: number,
  body: (s: Session) => Promise<Output>,
): Promise<void> {
  if (opts.html !== undefined) checkWritable(opts.html);
  const progress = new Progress(io, steps + 1, io.errIsTTY && !opts.json);
  let output: Output;
  try {
    const model = await progress.step(
      `loading ${opts.model}`,
      // A Hub download shows on the command's own progress line rather than a second bar.
      () =>
        HookedTransformer.fromPretrained(opts.model, {
          hub: {
            progressBar: false,
            onProgress: ({ file, bytes, total }) =>
              progress.note(
                bytes === total
                  ? `loading ${opts.model}`
                  : `downloading ${opts.model}: ${file} ${downloaded(bytes, total)}`,
              ),
          },
        }),
      true,
    );
    try {
      const prompt =
        opts.tokens !== undefined
          ? promptFromTokens(model, opts.tokens)
          : await preparePrompt(model, opts.prompt);
      output = await body({ model, prompt, progress, label: opts.model });
    } finally {
      model.dispose();
    }
  } finally {
    progress.done();
  }
  io.out(opts.json ? `${JSON.stringify(output.json, null, 2)}\n` : output.text);
  if (opts.html !== undefined && output.html) {
    await writeFileAtomic(opts.html, output.html(), 'the report');
    if (!opts.json) io.err(`report written to ${opts.html}\n`);
  }
}
