/**
 * Direct logit attribution as horizontal bars: one per component, blue for a push towards the
 * answer and red for a push away. `dlaBarsChart` is the chart (the CLI's dla and demo reports use
 * it), `dlaBarsHtml` a page of one from a `logitAttrs` result or plain arrays.
 */
import { Lazy } from '../../graph/Lazy.js';
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { renderPage, type ChartSpec } from './page.js';
import { checkLabels, checkNumbers, readValues, squeezeTo, type NumericInput } from './readValues.js';

/** A push towards the answer (positive) and away from it (negative). */
export const POSITIVE_COLOUR = '#2e86c1';
export const NEGATIVE_COLOUR = '#c0392b';

/** One bar. */
export interface Bar {
  label: string;
  value: number;
}

/** The bars' plain data, in the order they are drawn (top to bottom). */
export interface DlaBarsData {
  bars: readonly Bar[];
  /** The axis title of the values. Default `'logit attribution'`. */
  valueTitle?: string;
  /** The axis title of the labels. Default `'component'`. */
  labelTitle?: string;
}

/** The Vega-Lite bar chart of `d`, drawn into `<div id={id}>` under `heading`. */
export function dlaBarsChart(id: string, d: DlaBarsData, heading?: string): ChartSpec {
  const labelTitle = d.labelTitle ?? 'component';
  const valueTitle = d.valueTitle ?? 'logit attribution';
  return {
    id,
    title: heading,
    spec: {
      width: 560,
      height: { step: 20 },
      data: { values: d.bars.map((b, i) => ({ rank: i + 1, label: b.label, value: b.value })) },
      mark: 'bar',
      encoding: {
        // Positioned by rank so two components with the same label keep their own bar.
        y: {
          field: 'rank',
          type: 'ordinal',
          title: labelTitle,
          axis: { labelExpr: 'barLabels[datum.value - 1]' },
        },
        x: { field: 'value', type: 'quantitative', title: valueTitle },
        color: { condition: { test: 'datum.value < 0', value: NEGATIVE_COLOUR }, value: POSITIVE_COLOUR },
        tooltip: [
          { field: 'label', title: labelTitle },
          { field: 'value', title: valueTitle, type: 'quantitative', format: '.4f' },
        ],
      },
      params: [{ name: 'barLabels', value: d.bars.map((b) => b.label) }],
    },
  };
}

/** How {@link dlaBarsHtml} orders the bars. */
export type DlaSortBy = 'value' | 'abs' | 'none';

/** Labels and values, when not given as a labelled `Lazy`. */
export interface DlaBarsInput {
  /** One name per component (e.g. `L1H2`, `0_attn_out`). */
  labels: readonly string[];
  /** One value per label: numbers, a tf.Tensor or a Lazy (size-1 dims are dropped). */
  values: NumericInput;
}

/** Options of {@link dlaBarsHtml}. */
export interface DlaBarsOptions {
  /** The page's heading. Default `'direct logit attribution'`. */
  title?: string;
  /** `'value'` (default: largest first), `'abs'` (largest magnitude first, sign kept) or `'none'` (as given). */
  sortBy?: DlaSortBy;
  /** Keep only the first `top` bars after sorting (default: all). */
  top?: number;
  /** The value axis's title. Default `'logit attribution'`. */
  valueTitle?: string;
  /** The label axis's title. Default `'component'`. */
  labelTitle?: string;
}

const KEYS: OptionKeys<DlaBarsOptions> = {
  title: true,
  sortBy: true,
  top: true,
  valueTitle: true,
  labelTitle: true,
};
const INPUT_KEYS: OptionKeys<DlaBarsInput> = { labels: true, values: true };

/** Orders bars by `sortBy`, stably. */
export function sortBars(bars: readonly Bar[], sortBy: DlaSortBy): Bar[] {
  const out = [...bars];
  if (sortBy === 'value') out.sort((a, b) => b.value - a.value);
  if (sortBy === 'abs') out.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  return out;
}

/**
 * A self-contained HTML page (every script inline, nothing fetched) with a bar per component of
 * a direct logit attribution, sorted, positive bars blue and negative red; hovering a bar shows
 * its value. Takes what `cache.logitAttrs` returns for a labelled stack (a `Lazy` of
 * `[components]`, size-1 batch and position dims dropped) or `{ labels, values }`.
 *
 * @param input a labelled `logitAttrs` result (a Lazy), or `{ labels, values }`.
 * @param options sorting (`'value'`, `'abs'`, `'none'`), how many bars (`top`) and a title.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const { logits, cache } = await model.runWithCache('cat dog tree sun cat dog tree');
 * const heads = cache.stackHeadResults({ posSlice: -1 }); // [8, 1, 128], labelled L0H0 … L1H3
 * const attrs = cache.logitAttrs(heads, ' sun', { posSlice: -1 }); // [8, 1]
 * const html = await dlaBarsHtml(attrs, { title: "heads' attribution to ' sun'", sortBy: 'abs' });
 * console.log(html.includes('L1H3')); // true: write it to a .html file and open it in a browser
 * logits.dispose();
 * cache.dispose();
 * model.dispose();
 * ```
 * @throws InvalidArgumentError for an unknown option, a Lazy without labels or a non-finite value.
 * @throws ShapeError when the values are not one per label.
 */
export async function dlaBarsHtml(input: Lazy | DlaBarsInput, options: DlaBarsOptions = {}): Promise<string> {
  const where = 'dlaBarsHtml';
  checkOptions(options, KEYS, where);
  let labels: readonly string[] | undefined;
  let source: NumericInput;
  if (input instanceof Lazy) {
    labels = input.labels;
    if (labels === undefined) {
      throw new InvalidArgumentError(
        `${where}: a Lazy without labels given; expected a labelled stack's attribution ` +
          '(stackHeadResults, decomposeResid, …) or { labels, values }.',
      );
    }
    source = input;
  } else {
    checkOptions(input, INPUT_KEYS, where);
    if (input === undefined || input.labels === undefined || input.values === undefined) {
      throw new InvalidArgumentError(
        `${where}: given ${typeof input}; expected a Lazy or { labels, values }.`,
      );
    }
    labels = input.labels;
    source = input.values;
  }
  const values = squeezeTo(
    await readValues(source, where, 'values'),
    1,
    where,
    'values',
    '[components]',
  ) as number[];
  checkNumbers(values, where, 'values');
  checkLabels(labels, values.length, where, 'labels', 'values');
  if (values.length === 0) throw new ShapeError(`${where}: no values given; expected at least one.`);
  const sortBy = options.sortBy ?? 'value';
  if (!['value', 'abs', 'none'].includes(sortBy)) {
    throw new InvalidArgumentError(
      `${where}: sortBy given as ${JSON.stringify(sortBy)}; expected 'value', 'abs' or 'none'.`,
    );
  }
  const top = options.top ?? values.length;
  if (!Number.isInteger(top) || top < 1) {
    throw new InvalidArgumentError(`${where}: top given as ${String(top)}; expected an integer ≥ 1.`);
  }
  const bars = sortBars(
    values.map((value, i) => ({ label: labels[i], value })),
    sortBy,
  ).slice(0, top);
  const title = options.title ?? 'direct logit attribution';
  const d: DlaBarsData = { bars, valueTitle: options.valueTitle, labelTitle: options.labelTitle };
  return renderPage({
    title,
    facts: [['bars', `${bars.length} of ${values.length}, sorted by ${sortBy}`]],
    charts: [dlaBarsChart('chart-dla', d)],
    table: {
      headers: ['rank', d.labelTitle ?? 'component', d.valueTitle ?? 'logit attribution'],
      rows: bars.map((b, i) => [i + 1, b.label, b.value]),
    },
  });
}
