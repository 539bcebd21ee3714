/** `lazylens explain`: the plan of the DLA attribution — naive and planned — before it runs. */
import type { Command } from 'commander';
import { explainReport } from '../../report/reports.js';
import { explainAttribution } from '../analyses.js';
import { type DlaBy } from '../../analysis/types.js';
import { answerLine, header } from '../format.js';
import type { Io } from '../io.js';
import { answerOption, byOption } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

export function registerExplain(program: Command, io: Io): void {
  program
    .command('explain')
    .description("print the plan of dla's attribution (lazy.explain()) without running it")
    .addOption(answerOption())
    .addOption(byOption())
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { by: DlaBy; answer?: string }>();
      await withSession(io, opts, 1, async (s) => {
        const { answer, plan } = await s.progress.step('planning', () =>
          explainAttribution(s.model, s.prompt, { by: opts.by, answer: opts.answer }),
        );
        const r = { model: s.label, prompt: s.prompt, answer, by: opts.by, plan };
        const text = `${header(r.model, r.prompt)}${answerLine(answer)}plan of logitAttrs(--by ${opts.by}):\n${plan}\n`;
        return { json: r, text, html: () => explainReport(r) };
      });
    });
}
