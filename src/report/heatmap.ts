/**
 * The heatmap: one coloured cell per (row, column), labelled on both axes. Attention patterns and
 * patching results are drawn with it; `heatmapChart` is the chart, `heatmapHtml` a page of one.
 */
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { renderPage, type ChartSpec } from './page.js';
import { checkLabels, checkNumbers, readValues, squeezeTo, type NumericInput } from './readValues.js';

/** How values map to colour. */
export type HeatmapColorScale = 'diverging' | 'sequential';

/** A heatmap's plain data: `values[row][col]`, a `null` cell is left empty. */
export interface HeatmapData {
  values: readonly (readonly (number | null)[])[];
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** A title drawn inside the chart (small multiples use it to name each panel). */
  title?: string;
  rowTitle?: string;
  colTitle?: string;
  /** What a value is (the colour legend's and the tooltip's name for it). */
  valueTitle?: string;
  /** `'diverging'` (red below 0, blue above, symmetric about 0) or `'sequential'` (light to blue). */
  colorScale?: HeatmapColorScale;
  /** The values at the two ends of the colour scale (default: from the data). */
  domain?: readonly [number, number];
  /** Pixels per cell (default: from the number of columns, 12 to 28). */
  cellSize?: number;
}

/** Options of {@link heatmapHtml}. */
export interface HeatmapHtmlOptions {
  /**
   * `values[row][col]`: nested arrays (a `null` cell is left empty), a 2-D tf.Tensor or a
   * `Lazy` (read here; size-1 leading dims are dropped).
   */
  values: NumericInput;
  /** One label per row (default: the Lazy's labels, else `0`, `1`, …). */
  rowLabels?: readonly string[];
  /** One label per column (default `0`, `1`, …). */
  colLabels?: readonly string[];
  /** The page's heading. Default `'heatmap'`. */
  title?: string;
  /** The row axis's title. */
  rowTitle?: string;
  /** The column axis's title. */
  colTitle?: string;
  /** What a value is (legend and tooltip). Default `'value'`. */
  valueTitle?: string;
  /** Default `'diverging'`: signed effects, 0 white. */
  colorScale?: HeatmapColorScale;
  /** The values at the ends of the colour scale (default: symmetric about 0 for diverging, else min and max). */
  domain?: readonly [number, number];
}

const HTML_KEYS: OptionKeys<HeatmapHtmlOptions> = {
  values: true,
  rowLabels: true,
  colLabels: true,
  title: true,
  rowTitle: true,
  colTitle: true,
  valueTitle: true,
  colorScale: true,
  domain: true,
};

/** The default cell size: a wide heatmap gets smaller cells, within readable limits. */
export function cellSizeFor(cols: number): number {
  return Math.max(12, Math.min(28, Math.floor(640 / Math.max(1, cols))));
}

function colourScale(d: HeatmapData, flat: readonly number[]): Record<string, unknown> {
  if ((d.colorScale ?? 'diverging') === 'diverging') {
    const m = d.domain ? null : Math.max(1e-12, ...flat.map(Math.abs));
    return { scheme: 'redblue', domain: d.domain ? [...d.domain] : [-(m ?? 1), m ?? 1] };
  }
  const lo = flat.length ? Math.min(...flat) : 0;
  const hi = flat.length ? Math.max(...flat) : 1;
  return { scheme: 'blues', domain: d.domain ? [...d.domain] : [lo, hi > lo ? hi : lo + 1] };
}

/**
 * The Vega-Lite heatmap of `d` drawn into `<div id={id}>`. Rows and columns are positioned by
 * index (so repeated labels stay apart) and labelled through the `rowLabels`/`colLabels` params.
 * The `highlightRow` param (null: none) dims every other row; the attention view sets it on hover.
 */
export function heatmapChart(id: string, d: HeatmapData, heading?: string): ChartSpec {
  const rows = d.rowLabels.length;
  const cols = d.colLabels.length;
  const values: { row: number; col: number; rowLabel: string; colLabel: string; value: number }[] = [];
  d.values.forEach((r, i) =>
    r.forEach((value, j) => {
      if (value !== null)
        values.push({ row: i, col: j, rowLabel: d.rowLabels[i], colLabel: d.colLabels[j], value });
    }),
  );
  const step = d.cellSize ?? cellSizeFor(cols);
  const index = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  const valueTitle = d.valueTitle ?? 'value';
  const spec: Record<string, unknown> = {
    width: { step },
    height: { step },
    params: [
      { name: 'highlightRow', value: null },
      { name: 'rowLabels', value: d.rowLabels },
      { name: 'colLabels', value: d.colLabels },
    ],
    data: { values },
    mark: 'rect',
    encoding: {
      x: {
        field: 'col',
        type: 'ordinal',
        scale: { domain: index(cols) },
        title: d.colTitle ?? null,
        axis: { labelExpr: 'colLabels[datum.value]', labelAngle: -60 },
      },
      y: {
        field: 'row',
        type: 'ordinal',
        scale: { domain: index(rows) },
        title: d.rowTitle ?? null,
        axis: { labelExpr: 'rowLabels[datum.value]' },
      },
      color: {
        field: 'value',
        type: 'quantitative',
        title: valueTitle,
        scale: colourScale(
          d,
          values.map((v) => v.value),
        ),
      },
      opacity: {
        condition: { test: 'highlightRow === null || datum.row === highlightRow', value: 1 },
        value: 0.15,
      },
      tooltip: [
        { field: 'rowLabel', title: d.rowTitle ?? 'row' },
        { field: 'colLabel', title: d.colTitle ?? 'column' },
        { field: 'value', title: valueTitle, type: 'quantitative', format: '.4f' },
      ],
    },
  };
  if (d.title !== undefined) spec.title = d.title;
  return { id, title: heading, spec };
}

const defaultLabels = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

/** Checks a `[lo, hi]` colour domain. */
export function checkDomain(domain: unknown, where: string): void {
  if (domain === undefined) return;
  if (
    !Array.isArray(domain) ||
    domain.length !== 2 ||
    !domain.every((x) => typeof x === 'number' && Number.isFinite(x)) ||
    !((domain[0] as number) < (domain[1] as number))
  ) {
    throw new InvalidArgumentError(
      `${where}: domain given as ${JSON.stringify(domain)}; expected [lo, hi], two finite numbers with lo < hi.`,
    );
  }
}

/**
 * A self-contained HTML page (every script inline, nothing fetched) drawing a heatmap: a patching
 * result (layer × position), an attention pattern, any matrix with labelled rows and columns.
 * Hovering a cell shows its row, column and value.
 *
 * @param options the values `[rows][cols]` (a tensor, a Lazy or nested arrays), row and column
 *   labels, titles, the colour scale and its domain.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { logits, cache } = await model.runWithCache('cat dog tree sun cat dog tree');
 * // How far each layer's attention output at each position points along ' sun' − ' cat'.
 * const stack = cache.decomposeResid({ mode: 'attn', inclEmbeds: false }); // [2, 1, pos, d_model]
 * const attrs = cache.logitAttrs(stack, ' sun', { incorrectTokens: ' cat' }); // [2, 1, pos]
 * const html = await heatmapHtml({
 *   // the size-1 batch dim is dropped; rows take the Lazy's labels (0_attn_out, 1_attn_out)
 *   values: attrs,
 *   colLabels: model.toStrTokens('cat dog tree sun cat dog tree'),
 *   title: "logit difference ' sun' − ' cat' by layer and position",
 *   colTitle: 'position',
 * });
 * console.log(html.length); // write it to a .html file and open it in a browser
 * logits.dispose();
 * cache.dispose();
 * model.dispose();
 * ```
 * @throws InvalidArgumentError for an unknown option, a non-finite value or a bad domain.
 * @throws ShapeError when the values are not 2-D or the labels do not match their size.
 */
export async function heatmapHtml(options: HeatmapHtmlOptions): Promise<string> {
  const where = 'heatmapHtml';
  checkOptions(options, HTML_KEYS, where);
  if (options === undefined || options.values === undefined) {
    throw new InvalidArgumentError(
      `${where}: no values given; expected { values: number[][] | tf.Tensor | Lazy }.`,
    );
  }
  const read = await readValues(options.values, where, 'values');
  const values = squeezeTo(read, 2, where, 'values', '[rows, cols]') as (number | null)[][];
  checkNumbers(values, where, 'values', true);
  const rows = values.length;
  const cols = rows ? values[0].length : 0;
  if (rows === 0 || cols === 0) {
    throw new ShapeError(
      `${where}: values of shape [${rows}, ${cols}] given; expected at least one row and column.`,
    );
  }
  const rowsOf = read.labels && read.labels.length === rows ? read.labels : defaultLabels(rows);
  const rowLabels = checkLabels(options.rowLabels ?? rowsOf, rows, where, 'rowLabels', 'rows');
  const colLabels = checkLabels(
    options.colLabels ?? defaultLabels(cols),
    cols,
    where,
    'colLabels',
    'columns',
  );
  if (
    options.colorScale !== undefined &&
    options.colorScale !== 'diverging' &&
    options.colorScale !== 'sequential'
  ) {
    throw new InvalidArgumentError(
      `${where}: colorScale given as ${JSON.stringify(options.colorScale)}; expected 'diverging' or 'sequential'.`,
    );
  }
  checkDomain(options.domain, where);
  const title = options.title ?? 'heatmap';
  return renderPage({
    title,
    facts: [['size', `${rows} × ${cols}`]],
    charts: [
      heatmapChart('chart-heatmap', {
        values,
        rowLabels,
        colLabels,
        rowTitle: options.rowTitle,
        colTitle: options.colTitle,
        valueTitle: options.valueTitle,
        colorScale: options.colorScale,
        domain: options.domain,
      }),
    ],
  });
}
