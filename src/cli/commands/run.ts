/** `lazylens run`: the most likely next tokens after the prompt. */
import type { Command } from 'commander';
import { runReport } from '../../report/reports.js';
import { topPredictions } from '../analyses.js';
import { header, table, tok } from '../format.js';
import type { Io } from '../io.js';
import { topOption } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

export function registerRun(program: Command, io: Io): void {
  program
    .command('run')
    .description('show the top-k next tokens for the prompt')
    .addOption(topOption(10))
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { top: number }>();
      await withSession(io, opts, 1, async (s) => {
        const r = await s.progress.step('running', () =>
          topPredictions(s.model, s.prompt, opts.top, s.label),
        );
        const rows = r.predictions.map((p, i) => [i + 1, tok(p.token), p.id, p.prob, p.logit]);
        const text = `${header(r.model, r.prompt)}top ${rows.length} next tokens:\n${table(['rank', 'token', 'id', 'prob', 'logit'], rows)}`;
        return { json: r, text, html: () => runReport(r) };
      });
    });
}
