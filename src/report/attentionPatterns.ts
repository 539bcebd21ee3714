/**
 * Attention patterns of several heads: a heatmap per head (queries down, keys across) side by
 * side, above a strip of the prompt's tokens. Hovering a token (or a heatmap cell) picks it as the
 * query: its row stays lit in every head's heatmap, the others dim, and the strip colours each key
 * by the attention the selected head pays it from that query.
 */
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';
import { escapeHtml, visibleToken } from './escape.js';
import { cellSizeFor, heatmapChart } from './heatmap.js';
import { renderPage, type ChartSpec, type PageSection } from './page.js';
import { checkLabels, checkNumbers, readValues, type NumericInput, type ReadValues } from './readValues.js';

/** The attention view's plain data. */
export interface AttentionViewData {
  tokens: readonly string[];
  /** `patterns[head][query][key]`, each row summing to 1. */
  patterns: readonly (readonly (readonly number[])[])[];
  /** One name per head, e.g. `L1H2`. */
  labels: readonly string[];
}

/** Wires hovering: picks the query, lights its row in every heatmap, colours the strip. */
const BEHAVIOUR = `(data, views, root) => {
  const spans = [...root.querySelectorAll('.ll-strip span')];
  const select = root.querySelector('select');
  const readout = root.querySelector('.ll-readout');
  let query = null;
  const head = () => (select ? Number(select.value) : 0);
  const paint = () => {
    const h = head();
    spans.forEach((s, k) => {
      const w = query === null ? null : data.patterns[h][query][k];
      s.style.background = w === null ? '' : 'rgba(33, 102, 172, ' + w + ')';
      s.style.color = w !== null && w > 0.6 ? '#fff' : '';
      s.classList.toggle('ll-active', k === query);
      s.dataset.weight = w === null ? '' : w.toFixed(4);
    });
    if (query === null) {
      readout.textContent = data.hint;
      return;
    }
    const row = data.patterns[h][query];
    const top = row.indexOf(Math.max(...row));
    readout.textContent = data.labels[h] + ', query ' + query + ' ' + data.tokens[query] +
      ': most attention to ' + top + ' ' + data.tokens[top] + ' (' + row[top].toFixed(3) + ')';
  };
  const setQuery = async (q) => {
    query = q;
    paint();
    for (const id of data.chartIds) await views[id].signal('highlightRow', q).runAsync();
  };
  spans.forEach((s, q) => {
    s.addEventListener('mouseenter', () => setQuery(q));
    s.addEventListener('mouseleave', () => setQuery(null));
  });
  if (select) select.addEventListener('change', paint);
  data.chartIds.forEach((id, h) => {
    views[id].addEventListener('mouseover', (event, item) => {
      if (!item || !item.datum || typeof item.datum.row !== 'number') return;
      if (select) select.value = String(h);
      setQuery(item.datum.row);
    });
    views[id].addEventListener('mouseout', () => setQuery(null));
  });
}`;

/** Whether every head attends only backwards (all weights above the diagonal are 0). */
function isCausal(patterns: AttentionViewData['patterns']): boolean {
  return patterns.every((p) => p.every((row, q) => row.every((w, k) => k <= q || w === 0)));
}

/** The token strip (a section) and a heatmap per head (charts), ids prefixed by `id`. */
export function attentionView(
  id: string,
  d: AttentionViewData,
): { section: PageSection; charts: ChartSpec[] } {
  const n = d.tokens.length;
  const axisLabels = d.tokens.map((t, i) => `${i} ${visibleToken(t)}`);
  const causal = isCausal(d.patterns);
  const cellSize =
    d.patterns.length > 1 ? Math.max(10, Math.min(22, Math.floor(320 / Math.max(1, n)))) : cellSizeFor(n);
  const chartIds = d.labels.map((_, h) => `${id}-${h}`);
  const charts = d.patterns.map((p, h) =>
    heatmapChart(chartIds[h], {
      // Causal attention: keys after the query are masked, so only k ≤ q is drawn.
      values: p.map((row, q) => row.map((w, k) => (causal && k > q ? null : w))),
      rowLabels: axisLabels,
      colLabels: axisLabels,
      title: d.labels[h],
      rowTitle: 'query (attending)',
      colTitle: 'key (attended to)',
      valueTitle: 'attention',
      colorScale: 'sequential',
      domain: [0, 1],
      cellSize,
    }),
  );
  const spans = d.tokens
    .map(
      (t, i) =>
        `<span data-pos="${i}" title="${escapeHtml(axisLabels[i])}">${escapeHtml(visibleToken(t))}</span>`,
    )
    .join('');
  const options = d.labels.map((l, h) => `<option value="${h}">${escapeHtml(l)}</option>`).join('');
  const select = d.labels.length > 1 ? `<label>strip shows head <select>${options}</select></label>` : '';
  const hint = 'Hover a token (or a cell) to see where it attends.';
  const section: PageSection = {
    id,
    html: `${select}\n<div class="ll-strip">${spans}</div>\n<div class="ll-readout">${hint}</div>`,
    data: { tokens: d.tokens.map(visibleToken), patterns: d.patterns, labels: d.labels, chartIds, hint },
    behaviour: BEHAVIOUR,
  };
  return { section, charts };
}

/**
 * `[heads, query, key]` from one head's `[query, key]`, heads, or a cache's `[batch, heads, query,
 * key]` with a batch of one (a larger batch is refused rather than read as heads).
 */
function headsOf(read: ReadValues, where: string): number[][][] {
  const { shape } = read;
  if (shape.length === 2) return [read.values as number[][]];
  if (shape.length === 3) return read.values as number[][][];
  if (shape.length === 4 && shape[0] === 1) return (read.values as number[][][][])[0];
  const why = shape.length === 4 ? ` (a batch of ${shape[0]}: pass one entry, e.g. pattern.slice(...))` : '';
  throw new ShapeError(
    `${where}: patterns of shape [${shape.join(', ')}] given${why}; expected [heads, query, key], ` +
      '[1, heads, query, key] or [query, key].',
  );
}

/** Options of {@link attentionPatternsHtml}. */
export interface AttentionPatternsOptions {
  /** The tokens as text, one per query and key position (e.g. `model.toStrTokens(prompt)`). */
  tokens: readonly string[];
  /**
   * `[heads, query, key]` (or a cache's `[1, heads, query, key]`, or one head's `[query, key]`):
   * nested arrays, a tf.Tensor such as `cache.get(['pattern', layer])`, or a Lazy.
   */
  patterns: NumericInput;
  /** Which heads to draw, by index into `patterns` (default: all). */
  heads?: readonly number[];
  /** A name per drawn head (default `L{layer}H{i}` with `layer`, else `H{i}`). */
  labels?: readonly string[];
  /** The layer the heads belong to, for the default labels. */
  layer?: number;
  /** The page's heading. Default `'attention patterns'`. */
  title?: string;
}

const KEYS: OptionKeys<AttentionPatternsOptions> = {
  tokens: true,
  patterns: true,
  heads: true,
  labels: true,
  layer: true,
  title: true,
};

/**
 * A self-contained HTML page (every script inline, nothing fetched) with the attention pattern of
 * several heads side by side. Hovering a query token lights its row in every head and colours the
 * tokens by where the selected head attends from it; hovering a cell shows its weight.
 *
 * @param options the tokens, the patterns `[heads, q, k]` (a tensor, a Lazy or nested arrays), which
 *   heads and their labels, the layer and a title.
 * @example
 * ```ts
 * const model = await HookedTransformer.fromPretrained('induction-2l');
 * const prompt = 'cat dog tree sun moon cat dog tree sun moon';
 * const { logits, cache } = await model.runWithCache(prompt, {
 *   namesFilter: (n) => n.endsWith('hook_pattern'),
 * });
 * const html = await attentionPatternsHtml({
 *   tokens: model.toStrTokens(prompt),
 *   patterns: cache.get(['pattern', 1]), // [1, 4, pos, pos]: every head of layer 1
 *   layer: 1,
 * });
 * console.log(html.includes('L1H3')); // true: write it to a .html file and open it in a browser
 * logits.dispose();
 * cache.dispose();
 * model.dispose();
 * ```
 * @throws InvalidArgumentError for an unknown option, a bad head index or a non-finite weight.
 * @throws ShapeError when the pattern is not `[heads, tokens, tokens]` for the tokens given.
 */
export async function attentionPatternsHtml(options: AttentionPatternsOptions): Promise<string> {
  const where = 'attentionPatternsHtml';
  checkOptions(options, KEYS, where);
  if (options === undefined || options.patterns === undefined || options.tokens === undefined) {
    throw new InvalidArgumentError(
      `${where}: given without tokens or patterns; expected { tokens, patterns }.`,
    );
  }
  const read = await readValues(options.patterns, where, 'patterns');
  const all = headsOf(read, where);
  checkNumbers(all, where, 'patterns');
  const [nHeads, nq, nk] = [all.length, all[0]?.length ?? 0, all[0]?.[0]?.length ?? 0];
  const n = Array.isArray(options.tokens) ? options.tokens.length : NaN;
  if (nq !== n || nk !== n) {
    throw new ShapeError(
      `${where}: patterns of shape [${read.shape.join(', ')}] given with ${n} tokens; ` +
        `expected [heads, ${n}, ${n}] (a query row and a key column per token).`,
    );
  }
  const tokens = checkLabels(options.tokens, n, where, 'tokens', 'positions');
  const heads = options.heads ?? all.map((_, h) => h);
  for (const h of heads) {
    if (!Number.isInteger(h) || h < 0 || h >= nHeads) {
      throw new InvalidArgumentError(
        `${where}: head ${String(h)} given; expected an integer in [0, ${nHeads - 1}].`,
      );
    }
  }
  if (heads.length === 0)
    throw new InvalidArgumentError(`${where}: heads given as []; expected at least one head.`);
  const { layer } = options;
  if (layer !== undefined && !(Number.isInteger(layer) && layer >= 0)) {
    throw new InvalidArgumentError(`${where}: layer given as ${String(layer)}; expected an integer ≥ 0.`);
  }
  const defaults = heads.map((h) => (layer === undefined ? `H${h}` : `L${layer}H${h}`));
  const labels = checkLabels(options.labels ?? defaults, heads.length, where, 'labels', 'heads');
  const view = attentionView('ll-attention', { tokens, patterns: heads.map((h) => all[h]), labels });
  return renderPage({
    title: options.title ?? 'attention patterns',
    facts: [
      ['heads', labels.join(', ')],
      ['tokens', String(n)],
    ],
    sections: [view.section],
    charts: view.charts,
  });
}
