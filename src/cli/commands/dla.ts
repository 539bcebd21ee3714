/** `lazylens dla`: direct logit attribution of the answer to heads, layers, neurons or all components. */
import type { Command } from 'commander';
import { dlaReport } from '../../report/reports.js';
import { directLogitAttribution } from '../analyses.js';
import { type DlaBy, type DlaResult } from '../../analysis/types.js';
import { answerLine, header, table } from '../format.js';
import { type Io } from '../io.js';
import { stat } from 'node:fs/promises';
import { CliError, UsageError } from '../../errors.js';
import { realTarget, withAtomicFile } from '../atomicFile.js';
import { streamDla, type DlaTable } from '../../stream/streamDla.js';
import { answerOption, byOption, topOption } from '../parse.js';
import { checkWritable, withSession, type GlobalOptions } from '../session.js';

export interface DlaOptions {
  by: DlaBy;
  top: number;
  answer?: string;
  /** A JSONL file of `{ "prompt", "answer"? }` records, streamed in batches. */
  prompts?: string;
  /** With `prompts`: one JSON line per prompt is written here. */
  out?: string;
  /** Rank by absolute value (the printed values keep their sign). */
  abs?: boolean;
  /** With `prompts`: cut prompts longer than n_ctx tokens instead of stopping (`truncate: true`). */
  truncate?: boolean;
}

/** The text form of the mean attribution over a streamed dataset. */
export function meanText(t: DlaTable, top: number): string {
  const rows = t.labels.map((label, i) => ({ label, value: t.mean[i] }));
  rows.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  return (
    `mean direct logit attribution over ${t.prompts} prompts (top ${Math.min(top, rows.length)}):\n` +
    table(
      ['rank', 'component', 'mean attribution'],
      rows.slice(0, top).map((r, i) => [i + 1, r.label, r.value]),
    )
  );
}

/** Fails before the model loads when `--prompts` names no readable file. */
async function checkPromptsFile(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new CliError(`--prompts: no such file '${path}'; expected an existing JSON Lines file.`);
    throw new CliError(
      `--prompts: cannot read '${path}' (${code ?? String(e)}); expected a readable JSON Lines file.`,
    );
  }
  if (info.isDirectory())
    throw new CliError(`--prompts: '${path}' is a directory; expected a JSON Lines file.`);
}

/** `dla --prompts FILE --out FILE`: attribution per prompt of a dataset, streamed in bounded memory. */
async function streamed(io: Io, opts: GlobalOptions & DlaOptions): Promise<void> {
  const { prompts, out } = opts;
  if (prompts === undefined) return;
  if (out === undefined) throw new UsageError('--prompts needs --out FILE for the per-prompt results.');
  if (opts.by === 'all')
    throw new UsageError('--by all is not available with --prompts; expected heads, layers or neurons.');
  await checkPromptsFile(prompts);
  if (realTarget(out) === realTarget(prompts))
    throw new UsageError(
      `--out ${JSON.stringify(out)} is the --prompts file; expected a different file (it would be overwritten).`,
    );
  checkWritable(out);
  await withSession(io, opts, 1, async (s) => {
    const t = await s.progress.step('streaming prompts', () =>
      withAtomicFile(out, (tmp) =>
        streamDla(s.model, prompts, tmp, {
          components: opts.by as Exclude<DlaBy, 'all'>,
          topK: opts.top,
          truncate: opts.truncate ?? false,
          onProgress: (p) => s.progress.note(`${p.prompts} prompts, ${p.promptsPerSecond.toFixed(0)}/s`),
        }),
      ),
    );
    return { json: t, text: meanText(t, opts.top) + `per-prompt results written to ${out}\n` };
  });
}

/** The text form of a DLA result. */
export function dlaText(r: DlaResult, abs = false): string {
  return (
    `${answerLine(r.answer)}direct logit attribution at the last position, by ${r.by} ` +
    `(top ${r.rows.length} of ${r.components}${abs ? ' by |attribution|' : ''}):\n` +
    table(
      ['rank', 'component', 'attribution'],
      r.rows.map((row, i) => [i + 1, row.label, row.value]),
    )
  );
}

export function registerDla(program: Command, io: Io): void {
  program
    .command('dla')
    .description("direct logit attribution: how much each component pushes the answer's logit")
    .addOption(answerOption())
    .addOption(byOption())
    .addOption(topOption(10))
    .option('--abs', 'rank components by absolute attribution (values keep their sign)')
    .option(
      '--prompts <file>',
      'a JSONL file of {"prompt", "answer"?} records, attributed one by one (streamed)',
    )
    .option('--out <file>', 'with --prompts: write one JSON line per prompt to FILE')
    .option(
      '--truncate',
      "with --prompts: cut a prompt longer than the model's n_ctx to its first n_ctx tokens (truncate: true)",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & DlaOptions>();
      if (opts.prompts !== undefined || opts.out !== undefined) {
        if (opts.prompts === undefined) throw new UsageError('--out needs --prompts FILE.');
        return streamed(io, opts);
      }
      if (opts.truncate) throw new UsageError('--truncate needs --prompts FILE.');
      await withSession(io, opts, 1, async (s) => {
        const r = await s.progress.step('attributing', () =>
          directLogitAttribution(s.model, s.prompt, { ...opts, label: s.label }),
        );
        return { json: r, text: header(r.model, r.prompt) + dlaText(r, opts.abs), html: () => dlaReport(r) };
      });
    });
}
