/**
 * The activation-patching report: a heatmap of how much of the clean run's logit difference each
 * patch restores (layer down, position or head across; one heatmap per activation for the "every"
 * bundles), diverging around 0 so a patch that hurts stands out from one that helps.
 */
import type { PromptInfo } from '../analysis/types.js';
import { visibleToken } from './escape.js';
import { renderPage, type ChartSpec } from './page.js';

/** Numbers nested one array per axis (a 2-D grid, or 3-D with a leading activation axis). */
export type NestedNumbers = number | null | NestedNumbers[];

/** What `lazylens patch` computes: the patching grid and the runs it is measured against. */
export interface PatchingResult {
  model: string;
  clean: PromptInfo;
  corrupt: PromptInfo;
  answer: { id: number; token: string };
  wrong: { id: number; token: string };
  /** The `--what` asked for, and the library function that ran. */
  what: string;
  preset: string;
  /** logit(answer) − logit(wrong) at the last position of each unpatched run. */
  cleanLogitDiff: number;
  corruptLogitDiff: number;
  /** The grid's axes (`act`, `layer`, `pos`, `head`) and a label per entry of each. */
  axes: string[];
  labels: string[][];
  /** The patched run's logit difference, per patch. */
  values: NestedNumbers;
  /** (patched − corrupt) / (clean − corrupt): 0 is the corrupted run, 1 the clean run; null when the two runs tie. */
  restored: NestedNumbers;
}

interface Cell {
  act: string;
  layer: string;
  col: string;
  restored: number | null;
  logitDiff: number;
}

/** The label of a column: position `i token` (clean / corrupt when they differ), or `H3`. */
function columnLabels(r: PatchingResult): string[] {
  const axis = r.axes[r.axes.length - 1];
  const labels = r.labels[r.labels.length - 1];
  if (axis !== 'pos') return labels.map((l) => `H${l}`);
  return labels.map((_, i) => {
    const [c, k] = [visibleToken(r.clean.tokens[i] ?? ''), visibleToken(r.corrupt.tokens[i] ?? '')];
    return c === k ? `${i} ${c}` : `${i} ${c} / ${k}`;
  });
}

/** One cell per patch, flattening the grids (a leading `act` axis gives one grid per activation). */
export function patchingCells(r: PatchingResult): Cell[] {
  const stacked = r.axes[0] === 'act';
  const acts = stacked ? r.labels[0] : [r.what];
  const values = (stacked ? r.values : [r.values]) as number[][][];
  const restored = (stacked ? r.restored : [r.restored]) as (number | null)[][][];
  const cols = columnLabels(r);
  return acts.flatMap((act, a) =>
    values[a].flatMap((row, layer) =>
      row.map((logitDiff, c) => ({
        act,
        layer: `L${layer}`,
        col: cols[c],
        restored: restored[a][layer][c],
        logitDiff,
      })),
    ),
  );
}

function heatmap(r: PatchingResult, act: string, cells: readonly Cell[], index: number): ChartSpec {
  const cols = columnLabels(r);
  const byPos = r.axes[r.axes.length - 1] === 'pos';
  const field = cells.some((c) => c.restored !== null) ? 'restored' : 'logitDiff';
  const extent = Math.max(
    1e-9,
    ...cells.map((c) => Math.abs((field === 'restored' ? c.restored : c.logitDiff) ?? 0)),
  );
  const size = Math.max(14, Math.min(36, Math.floor(720 / Math.max(1, cols.length))));
  return {
    id: `chart-patch-${index}`,
    title: `Patching ${act}: ${field === 'restored' ? 'fraction of the logit difference restored' : 'logit difference'}`,
    spec: {
      width: { step: size },
      height: { step: size },
      data: { values: cells },
      mark: 'rect',
      encoding: {
        x: {
          field: 'col',
          type: 'ordinal',
          sort: cols,
          title: byPos ? 'position (clean / corrupted token)' : 'head',
          axis: { labelAngle: byPos ? -60 : 0 },
        },
        y: { field: 'layer', type: 'ordinal', title: 'layer' },
        color: {
          field,
          type: 'quantitative',
          title: field === 'restored' ? 'restored' : 'logit diff',
          scale: { scheme: 'redblue', reverse: true, domain: [-extent, extent] },
        },
        tooltip: [
          { field: 'layer' },
          { field: 'col', title: byPos ? 'position' : 'head' },
          { field: 'restored', type: 'quantitative', format: '.3f' },
          { field: 'logitDiff', type: 'quantitative', format: '.4f', title: 'logit diff' },
        ],
      },
    },
  };
}

/**
 * The HTML page for a patching result: facts about the two runs, a heatmap per activation and
 * the same numbers as a table.
 */
export function patchingReport(r: PatchingResult): string {
  const cells = patchingCells(r);
  const acts = [...new Set(cells.map((c) => c.act))];
  const tok = (t: { id: number; token: string }): string => `${JSON.stringify(t.token)} (id ${t.id})`;
  return renderPage({
    model: r.model,
    prompt: r.clean.text,
    tokens: r.clean.tokens,
    title: 'activation patching',
    facts: [
      ['corrupted prompt', r.corrupt.text],
      ['answer / wrong', `${tok(r.answer)} / ${tok(r.wrong)}`],
      [
        'logit difference',
        `clean ${r.cleanLogitDiff.toFixed(4)}, corrupted ${r.corruptLogitDiff.toFixed(4)}`,
      ],
      ['patched', `${r.what} (${r.preset}): clean activations into the corrupted run`],
    ],
    charts: acts.map((act, i) =>
      heatmap(
        r,
        act,
        cells.filter((c) => c.act === act),
        i,
      ),
    ),
    table: {
      headers: [
        'activation',
        'layer',
        r.axes[r.axes.length - 1] === 'pos' ? 'position' : 'head',
        'restored',
        'logit diff',
      ],
      rows: cells.map((c) => [c.act, c.layer, c.col, c.restored ?? '–', c.logitDiff]),
    },
  });
}
