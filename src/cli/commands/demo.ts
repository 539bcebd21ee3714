/**
 * `lazylens demo`: the README's main job — on the shipped model's built-in repeated sequence,
 * direct logit attribution by head (the layer-1 induction heads come out on top), the logit
 * lens, and every head's induction score.
 */
import type { Command } from 'commander';
import { allInductionScores, directLogitAttribution, logitLens } from '../analyses.js';
import { demoReport } from '../../report/reports.js';
import { header, table } from '../format.js';
import type { Io } from '../io.js';
import { withSession, type GlobalOptions } from '../session.js';
import { dlaText } from './dla.js';
import { lensText } from './lens.js';

export function registerDemo(program: Command, io: Io): void {
  program
    .command('demo')
    .description('DLA by head, the logit lens and induction scores on the built-in repeated prompt')
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      await withSession(io, opts, 3, async (s) => {
        const dla = await s.progress.step('attributing', () =>
          directLogitAttribution(s.model, s.prompt, { by: 'heads', top: 8, label: s.label }),
        );
        const lens = await s.progress.step('logit lens', () =>
          logitLens(s.model, s.prompt, { label: s.label }),
        );
        const scores = await s.progress.step('induction scores', () => allInductionScores(s.model, s.prompt));
        scores.sort((a, b) => b.score - a.score);
        const text =
          `${header(s.label, s.prompt)}\n` +
          `1. Which heads write the answer? ${dlaText(dla)}\n` +
          `2. When does the answer appear? ${lensText(lens)}\n` +
          '3. Which heads attend like induction heads (from a repeated token to the token after its first occurrence)?\n' +
          table(
            ['head', 'induction score'],
            scores.map((h) => [h.label, h.score]),
          );
        return {
          json: { dla, lens, inductionScores: scores },
          text,
          html: () => demoReport(dla, lens, scores),
        };
      });
    });
}
