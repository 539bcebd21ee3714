/** Flag value parsers: a bad value becomes commander's one-line "argument … is invalid" error. */
import { InvalidArgumentError, Option } from 'commander';
import { DLA_BY } from '../analysis/types.js';

/** An integer ≥ 1 (`--top`). */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new InvalidArgumentError('Expected a positive integer.');
  }
  return Number(value);
}

/** An integer ≥ 0 (`--layer`, `--head`; the upper bound is checked once the model is loaded). */
export function index(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('Expected an integer ≥ 0.');
  return Number(value);
}

export const topOption = (fallback: number): Option =>
  new Option('--top <n>', 'how many rows to show').argParser(positiveInt).default(fallback);

export const answerOption = (): Option =>
  new Option(
    '--answer <token>',
    "the token whose logit is attributed, as text or by id ('#42'; default: what the prompt's repetition predicts, else the top prediction)",
  );

export const byOption = (): Option =>
  new Option('--by <kind>', 'components: heads, layers, neurons or all').choices(DLA_BY).default('heads');
