/**
 * The shell of every report: one self-contained HTML page (styles, the charting library, the
 * data and the code that draws it are all inline). Every string from a prompt or a token goes
 * through `escapeHtml` in markup or `jsonForScript` in the data element.
 */
import { escapeHtml, jsonForScript, visibleToken } from './escape.js';
import { vegaScripts } from './vegaBundle.js';

/** A Vega-Lite chart drawn into `<div id={id}>`. */
export interface ChartSpec {
  id: string;
  /** A heading above the chart; without one, charts in a row sit side by side (small multiples). */
  title?: string;
  spec: Record<string, unknown>;
}

/**
 * Interactive markup that is not a Vega chart (a token strip): its HTML (built from escaped text),
 * its data (placed in the page's JSON data element) and the code that makes it interactive.
 */
export interface PageSection {
  /** Unique on the page; the section's data and behaviour are keyed by it. */
  id: string;
  /** Trusted markup: every piece of user text in it already went through `escapeHtml`. */
  html: string;
  data?: unknown;
  /**
   * The source of a JS function `(data, views, root) => void` run once the charts are drawn, with
   * this section's data, the drawn Vega views by chart id, and the section's element. Static code
   * only: user text reaches it through `data`, never through this string.
   */
  behaviour?: string;
}

export interface PageOptions {
  /** What kind of report (shown as the heading). */
  title: string;
  /** The model and prompt the page is about (a page built from plain data may have neither). */
  model?: string;
  prompt?: string;
  tokens?: readonly string[];
  /** Extra facts shown under the prompt, as label → value (values are escaped). */
  facts?: readonly (readonly [string, string])[];
  /** Shown after the prompt, before the charts. */
  sections?: readonly PageSection[];
  charts: readonly ChartSpec[];
  /** The same data as a table: header and rows of plain text (escaped here). */
  table?: { headers: readonly string[]; rows: readonly (readonly (string | number)[])[] };
  /** Preformatted text (escaped here), e.g. a plan. */
  pre?: string;
}

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1b1f24; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
dt { font-weight: 600; } dd { margin: 0; }
.prompt { white-space: pre-wrap; font-family: ui-monospace, monospace; background: #f4f6f8; padding: 6px 8px; border-radius: 4px; }
.tokens span { display: inline-block; font-family: ui-monospace, monospace; background: #e8eef5; border-radius: 3px; padding: 1px 4px; margin: 2px; }
.tokens span small { color: #6a737d; margin-right: 3px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #dde1e6; padding: 3px 10px; text-align: left; }
td.num { text-align: right; }
pre.plan { background: #f4f6f8; padding: 10px; overflow-x: auto; font-size: 12px; }
#lazylens-error { color: #b00020; white-space: pre-wrap; }
.ll-strip { line-height: 2; font-family: ui-monospace, monospace; }
.ll-strip span { display: inline-block; border: 1px solid #dde1e6; border-radius: 3px; padding: 0 4px; margin: 1px; cursor: default; white-space: pre; }
.ll-strip span.ll-active { outline: 2px solid #1b1f24; }
.ll-readout { min-height: 1.5em; color: #444; font-variant-numeric: tabular-nums; }
.ll-legend { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #555; }
.ll-legend i { display: inline-block; width: 160px; height: 10px; border: 1px solid #dde1e6; }
.chart { display: inline-block; vertical-align: top; margin: 0 16px 16px 0; }
`;

// Draws each chart with Vega (SVG renderer), wires up the sections' behaviours, then marks the
// body so tests can wait for it.
function drawScript(sections: readonly PageSection[]): string {
  const behaviours = sections
    .filter((s) => s.behaviour !== undefined)
    .map((s) => `${jsonForScript(s.id)}: (${s.behaviour})`)
    .join(',\n');
  return `
const behaviours = {${behaviours}};
(async () => {
  const data = JSON.parse(document.getElementById('lazylens-data').textContent);
  const views = {};
  for (const chart of data.charts) {
    const compiled = vegaLite.compile(chart.spec).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: 'svg', container: '#' + chart.id, hover: true });
    await view.runAsync();
    views[chart.id] = view;
  }
  for (const section of data.sections) {
    const behaviour = behaviours[section.id];
    if (behaviour) await behaviour(section.data, views, document.getElementById(section.id));
  }
  document.body.dataset.rendered = 'true';
})().catch((e) => {
  document.body.dataset.rendered = 'error';
  document.getElementById('lazylens-error').textContent = String(e && e.stack || e);
});
`;
}

function tokenStrip(tokens: readonly string[]): string {
  return tokens.map((t, i) => `<span><small>${i}</small>${escapeHtml(visibleToken(t))}</span>`).join('');
}

function tableHtml(table: NonNullable<PageOptions['table']>): string {
  const head = table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const rows = table.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => (typeof c === 'number' ? `<td class="num">${fmt(c)}</td>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4);
}

/** The whole page as a string. */
export function renderPage(o: PageOptions): string {
  const facts = [...(o.model === undefined ? [] : [['model', o.model] as const]), ...(o.facts ?? [])]
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('');
  const charts = o.charts
    .map(
      (c) =>
        `${c.title === undefined ? '' : `<h2>${escapeHtml(c.title)}</h2>\n`}<div id="${escapeHtml(c.id)}" class="chart"></div>`,
    )
    .join('\n');
  const sections = o.sections ?? [];
  const data = {
    charts: o.charts.map((c) => ({ id: c.id, spec: c.spec })),
    sections: sections.map((s) => ({ id: s.id, data: s.data ?? null })),
  };
  const heading = o.prompt === undefined ? '' : ` · ${escapeHtml(o.prompt.slice(0, 60))}`;
  const prompt =
    o.prompt === undefined
      ? ''
      : `<h2>Prompt</h2>\n<div class="prompt">${escapeHtml(o.prompt)}</div>\n` +
        `<div class="tokens">${tokenStrip(o.tokens ?? [])}</div>`;
  const sectionHtml = sections.map((s) => `<div id="${escapeHtml(s.id)}">${s.html}</div>`).join('\n');
  // With neither charts nor behaviours there is nothing to wait for.
  const live = o.charts.length > 0 || sections.some((s) => s.behaviour !== undefined);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lazylens · ${escapeHtml(o.title)}${heading}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>lazylens · ${escapeHtml(o.title)}</h1>
${facts ? `<dl>${facts}</dl>` : ''}
${prompt}
${sectionHtml}
${charts}
${o.pre === undefined ? '' : `<pre class="plan">${escapeHtml(o.pre)}</pre>`}
${o.table ? `<h2>Data</h2>\n${tableHtml(o.table)}` : ''}
<div id="lazylens-error"></div>
${o.charts.length ? vegaScripts() : ''}
<script type="application/json" id="lazylens-data">${jsonForScript(data)}</script>
${live ? `<script>${drawScript(sections)}</script>` : '<script>document.body.dataset.rendered = "true";</script>'}
</body>
</html>
`;
}
