/** `lazylens attention`: one head's attention pattern over the prompt's tokens. */
import { Option, type Command } from 'commander';
import { attentionReport } from '../../report/reports.js';
import { attentionPattern } from '../analyses.js';
import { header, table, tok } from '../format.js';
import type { Io } from '../io.js';
import { index } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

export function registerAttention(program: Command, io: Io): void {
  program
    .command('attention')
    .description("one head's attention pattern over the prompt")
    .addOption(new Option('--layer <n>', 'layer (default: the last)').argParser(index))
    .addOption(
      new Option('--head <n>', "head (default: the layer's head with the highest induction score)").argParser(
        index,
      ),
    )
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { layer?: number; head?: number }>();
      await withSession(io, opts, 1, async (s) => {
        const r = await s.progress.step('attending', () =>
          attentionPattern(s.model, s.prompt, { layer: opts.layer, head: opts.head, label: s.label }),
        );
        const rows = r.pattern.map((row, q) => {
          const top = row
            .map((w, k) => [k, w] as const)
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([k, w]) => `${k} ${tok(r.prompt.tokens[k])} (${w.toFixed(2)})`)
            .join(', ');
          return [q, tok(r.prompt.tokens[q]), top];
        });
        const score = r.inductionScore === null ? '' : `, induction score ${r.inductionScore.toFixed(4)}`;
        const text =
          `${header(r.model, r.prompt)}attention of head L${r.layer}H${r.head}${score}; ` +
          `each query's three most attended keys:\n${table(['pos', 'query', 'attends to'], rows)}`;
        return { json: r, text, html: () => attentionReport(r) };
      });
    });
}
