/** Plain-text tables for the terminal. */
import { visibleToken } from '../report/escape.js';
import type { Answer, PromptInfo } from '../analysis/types.js';

type Cell = string | number;

function cell(c: Cell): string {
  if (typeof c === 'string') return c;
  if (Number.isInteger(c)) return String(c);
  return Math.abs(c) >= 1e-3 || c === 0 ? c.toFixed(4) : c.toExponential(2);
}

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = [headers.map(String), ...rows.map((r) => r.map(cell))];
  const numeric = headers.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number'));
  const widths = headers.map((_, j) => Math.max(...text.map((r) => [...(r[j] ?? '')].length)));
  const pad = (s: string, j: number): string => {
    const fill = ' '.repeat(widths[j] - [...s].length);
    return numeric[j] ? fill + s : s + fill;
  };
  return text.map((r) => `  ${r.map(pad).join('  ')}`.trimEnd()).join('\n') + '\n';
}

/** One line naming the model and the prompt. */
export function header(model: string, prompt: PromptInfo): string {
  const what = prompt.builtin ? 'built-in prompt' : 'prompt';
  return `model ${model} · ${what} (${prompt.tokens.length} tokens): ${JSON.stringify(prompt.text)}\n`;
}

/** The answer and where it came from. */
export function answerLine(a: Answer): string {
  const why = {
    given: 'given',
    repeat: 'predicted by the repeated sequence',
    top: "the model's top prediction",
  };
  return `answer ${JSON.stringify(a.token)} (id ${a.id}, ${why[a.source]})\n`;
}

/** A token for a table cell. */
export function tok(t: string): string {
  return visibleToken(t);
}
