/** `lazylens test-prompt`: TransformerLens's `test_prompt` — how the model ranks an answer after the prompt. */
import { Option, type Command } from 'commander';
import { testPrompt } from '../../circuits/testPrompt.js';
import { UsageError } from '../../errors.js';
import type { Io } from '../io.js';
import { topOption } from '../parse.js';
import { withSession, type GlobalOptions } from '../session.js';

interface TestPromptFlags extends GlobalOptions {
  answer: string;
  top: number;
  prependSpace: boolean;
}

/** `--answer '#5,#6'`: the answer as token ids; undefined for text. */
function answerIds(answer: string): number[] | undefined {
  const parts = answer.split(',').map((p) => p.trim());
  if (!parts.every((p) => /^#\d+$/.test(p))) return undefined;
  return parts.map((p) => Number(p.slice(1)));
}

export function registerTestPrompt(program: Command, io: Io): void {
  program
    .command('test-prompt')
    .description(
      "the answer's rank, logit and probability after the prompt, with the top-k table (TL's test_prompt)",
    )
    .addOption(
      new Option(
        '--answer <text>',
        "the expected continuation (one or more tokens), or token ids as '#5,#6'",
      ).makeOptionMandatory(),
    )
    .addOption(topOption(10))
    .addOption(new Option('--no-prepend-space', 'do not put a space before the answer'))
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<TestPromptFlags>();
      if (opts.html !== undefined) throw new UsageError('test-prompt writes no HTML report; drop --html.');
      await withSession(io, opts, 1, async (s) => {
        const ids = answerIds(opts.answer);
        if (!ids && !s.model.tokenizer)
          throw new UsageError(
            `--answer ${JSON.stringify(opts.answer)}: this model has no tokenizer to read text; expected token ids, e.g. --answer '#5,#6'.`,
          );
        const lines: string[] = [];
        const r = await s.progress.step('testing', () =>
          testPrompt(s.model, opts.tokens ?? s.prompt.text, ids ?? opts.answer, {
            topK: opts.top,
            prependSpaceToAnswer: opts.prependSpace,
            printDetails: true,
            print: (line) => lines.push(line),
          }),
        );
        return {
          json: { model: s.label, prompt: s.prompt.text, answer: opts.answer, ...r },
          text: `${lines.join('\n')}\n`,
        };
      });
    });
}
