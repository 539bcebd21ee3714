/** `lazylens dla`: direct logit attribution of the answer to heads, layers, neurons or all components. */
import type { Command } from 'commander';
import { dlaReport } from '../../report/reports.js';
import { directLogitAttribution, type DlaBy, type DlaResult } from '../analyses.js';
import { answerLine, header, table } from '../format.js';
import type { Io } from '../io.js';
import { answerOption, byOption, topOption } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

export interface DlaOptions {
  by: DlaBy;
  top: number;
  answer?: string;
}

/** The text form of a DLA result. */
export function dlaText(r: DlaResult): string {
  return (
    `${answerLine(r.answer)}direct logit attribution at the last position, by ${r.by} ` +
    `(top ${r.rows.length} of ${r.components}):\n` +
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
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & DlaOptions>();
      await withSession(io, opts, 1, async (s) => {
        const r = await s.progress.step('attributing', () =>
          directLogitAttribution(s.model, s.prompt, { ...opts, label: s.label }),
        );
        return { json: r, text: header(r.model, r.prompt) + dlaText(r), html: () => dlaReport(r) };
      });
    });
}
