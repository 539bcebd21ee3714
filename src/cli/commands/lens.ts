/** `lazylens lens`: the logit lens — the answer's rank and probability after each layer. */
import type { Command } from 'commander';
import { lensReport } from '../../report/reports.js';
import { logitLens } from '../analyses.js';
import { type LensResult } from '../../analysis/types.js';
import { answerLine, header, table } from '../format.js';
import type { Io } from '../io.js';
import { answerOption } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

/** The text form of a logit-lens result. */
export function lensText(r: LensResult): string {
  return (
    `${answerLine(r.answer)}logit lens at the last position (ln_final applied to each residual stream):\n` +
    table(
      ['after', 'rank', 'prob', 'logit'],
      r.rows.map((row) => [row.label, row.rank, row.prob, row.logit]),
    )
  );
}

export function registerLens(program: Command, io: Io): void {
  program
    .command('lens')
    .description("logit lens: the answer's rank and probability after each layer")
    .addOption(answerOption())
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { answer?: string }>();
      await withSession(io, opts, 1, async (s) => {
        const r = await s.progress.step('projecting', () =>
          logitLens(s.model, s.prompt, { answer: opts.answer, label: s.label }),
        );
        return { json: r, text: header(r.model, r.prompt) + lensText(r), html: () => lensReport(r) };
      });
    });
}
