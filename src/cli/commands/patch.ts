/**
 * `lazylens patch`: activation patching. The clean prompt's activations are copied, one layer ×
 * position (or head) at a time, into a run on the corrupted prompt, and each patch is scored by how
 * much of the clean run's logit difference (answer − wrong, at the last position) it restores.
 */
import * as tf from '@tensorflow/tfjs';
import { Option, type Command } from 'commander';
import type { PromptInfo } from '../../analysis/types.js';
import { TokenError, UsageError } from '../../errors.js';
import type { HookedTransformer } from '../../model/HookedTransformer.js';
import type { ActPatchFn } from '../../patching/actPatchPresets.js';
import type { ActPatchResult } from '../../patching/ActPatchResult.js';
import {
  getActPatchAttnHeadOutAllPos,
  getActPatchAttnOut,
  getActPatchMlpOut,
  getActPatchResidPre,
} from '../../patching/actPatchPresets.js';
import { getActPatchBlockEvery } from '../../patching/actPatchEvery.js';
import { logitDiffMetric } from '../../patching/logitDiffMetric.js';
import { patchingReport, type NestedNumbers, type PatchingResult } from '../../report/patchingReport.js';
import { preparePrompt } from '../analyses.js';
import { table, tok } from '../format.js';
import type { Io } from '../io.js';
import { withSession, type GlobalOptions, type Session } from '../session.js';

/** What `--what` can patch, and the preset that does it. */
const WHAT: Readonly<Record<string, readonly [string, ActPatchFn]>> = {
  resid_pre: ['getActPatchResidPre', getActPatchResidPre],
  attn_out: ['getActPatchAttnOut', getActPatchAttnOut],
  mlp_out: ['getActPatchMlpOut', getActPatchMlpOut],
  heads: ['getActPatchAttnHeadOutAllPos', getActPatchAttnHeadOutAllPos],
  every: ['getActPatchBlockEvery', getActPatchBlockEvery],
};

interface PatchFlags extends GlobalOptions {
  clean: string;
  corrupt: string;
  answer: string;
  wrong: string;
  what: string;
}

function token(model: HookedTransformer, text: string, flag: string): { id: number; token: string } {
  if (text === '') throw new TokenError(`${flag} is empty; expected one token.`);
  const id = model.toSingleToken(text);
  return { id, token: model.toString([id]) as string };
}

/** logit(answer) − logit(wrong) at the last position of an unpatched run. */
async function logitDiff(
  model: HookedTransformer,
  prompt: PromptInfo,
  answer: number,
  wrong: number,
): Promise<number> {
  const logits = await model.forward([prompt.ids]);
  const diff = tf.tidy(() => logitDiffMetric(answer, wrong)(logits) as tf.Tensor);
  try {
    return (await diff.data())[0];
  } finally {
    tf.dispose([logits, diff]);
  }
}

/** `f` applied to every number of a nested array. */
function mapNested(x: NestedNumbers, f: (v: number) => number | null): NestedNumbers {
  return Array.isArray(x) ? x.map((y) => mapNested(y, f)) : x === null ? null : f(x);
}

async function patch(s: Session, flags: PatchFlags): Promise<PatchingResult> {
  const { model } = s;
  const entry = WHAT[flags.what];
  if (model.cfg.attnOnly && (flags.what === 'mlp_out' || flags.what === 'every')) {
    throw new UsageError(
      `--what ${flags.what} given, but ${model.cfg.modelName} is attention-only (no MLP output); expected --what resid_pre, attn_out or heads.`,
    );
  }
  const clean = s.prompt;
  const corrupt = await preparePrompt(model, flags.corrupt);
  if (corrupt.ids.length !== clean.ids.length) {
    throw new UsageError(
      `--clean has ${clean.ids.length} tokens and --corrupt ${corrupt.ids.length}; expected the same number (patching swaps activations position by position).`,
    );
  }
  const answer = token(model, flags.answer, '--answer');
  const wrong = token(model, flags.wrong, '--wrong');
  if (answer.id === wrong.id)
    throw new UsageError(
      `--answer and --wrong are both ${JSON.stringify(answer.token)}; expected two different tokens.`,
    );
  const cleanLogitDiff = await logitDiff(model, clean, answer.id, wrong.id);
  const corruptLogitDiff = await logitDiff(model, corrupt, answer.id, wrong.id);
  const { cache, logits } = await model.runWithCache([clean.ids]);
  logits.dispose();
  let result: ActPatchResult;
  try {
    result = await s.progress.step('patching', () =>
      entry[1](model, [corrupt.ids], cache, logitDiffMetric(answer.id, wrong.id), {
        onProgress: (done, total) => s.progress.note(`patching: ${done} / ${total} patches`),
      }),
    );
  } finally {
    cache.dispose();
  }
  let values: NestedNumbers;
  try {
    values = await result.values.array();
  } finally {
    result.values.dispose();
  }
  const span = cleanLogitDiff - corruptLogitDiff;
  return {
    model: s.label,
    clean,
    corrupt,
    answer,
    wrong,
    what: flags.what,
    preset: entry[0],
    cleanLogitDiff,
    corruptLogitDiff,
    axes: result.axes,
    labels: result.labels,
    values,
    restored: mapNested(values, (v) => (span === 0 ? null : (v - corruptLogitDiff) / span)),
  };
}

/** One table per activation: positions or layers down, layers or heads across. */
function grids(r: PatchingResult): string {
  const stacked = r.axes[0] === 'act';
  const acts = stacked ? r.labels[0] : [r.what];
  const restored = (stacked ? r.restored : [r.restored]) as (number | null)[][][];
  const cell = (v: number | null): number | string => (v === null ? '–' : v);
  return acts
    .map((act, a) => {
      const grid = restored[a];
      const title = acts.length > 1 ? `${act}:\n` : '';
      if (r.axes[r.axes.length - 1] === 'head') {
        const heads = grid[0].map((_, h) => `H${h}`);
        return (
          title +
          table(
            ['layer', ...heads],
            grid.map((row, l) => [`L${l}`, ...row.map(cell)]),
          )
        );
      }
      const layers = grid.map((_, l) => `L${l}`);
      const rows = grid[0].map((_, p) => [
        p,
        tok(r.clean.tokens[p] ?? ''),
        tok(r.corrupt.tokens[p] ?? ''),
        ...grid.map((row) => cell(row[p])),
      ]);
      return title + table(['pos', 'clean', 'corrupt', ...layers], rows);
    })
    .join('\n');
}

/** The text form of a patching result. */
export function patchText(r: PatchingResult): string {
  return (
    `model ${r.model} · clean (${r.clean.tokens.length} tokens): ${JSON.stringify(r.clean.text)}\n` +
    `corrupt: ${JSON.stringify(r.corrupt.text)}\n` +
    `logit(${JSON.stringify(r.answer.token)}) − logit(${JSON.stringify(r.wrong.token)}) at the last position: ` +
    `clean ${r.cleanLogitDiff.toFixed(4)}, corrupt ${r.corruptLogitDiff.toFixed(4)}\n` +
    `fraction of that difference restored by patching ${r.what} from the clean run (0 = corrupt, 1 = clean):\n` +
    grids(r)
  );
}

export function registerPatch(program: Command, io: Io): void {
  program
    .command('patch')
    .description(
      'activation patching: how much of the clean logit difference each layer × position (or head) restores in the corrupted run',
    )
    .addOption(new Option('--clean <text>', 'the clean prompt').makeOptionMandatory())
    .addOption(
      new Option('--corrupt <text>', 'the corrupted prompt (same number of tokens)').makeOptionMandatory(),
    )
    .addOption(
      new Option('--answer <token>', 'the right answer after the clean prompt').makeOptionMandatory(),
    )
    .addOption(
      new Option('--wrong <token>', 'the answer the corrupted prompt points to').makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--what <kind>',
        'what to patch: resid_pre, attn_out, mlp_out (by layer and position), heads (each head at all positions) or every (the first three)',
      )
        .choices(Object.keys(WHAT))
        .default('resid_pre'),
    )
    .action(async (_o: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<PatchFlags>();
      if (flags.prompt !== undefined || flags.tokens !== undefined) {
        throw new UsageError('patch takes --clean and --corrupt; drop --prompt / --tokens.');
      }
      await withSession(io, { ...flags, prompt: flags.clean }, 1, async (s) => {
        const r = await patch(s, flags);
        return { json: r, text: patchText(r), html: () => patchingReport(r) };
      });
    });
}
