/**
 * One report per command, built from the same plain data the command prints: a bar chart of
 * attributions (dla), line charts of the answer's rank and probability across layers (lens), the
 * attention view of one head (attention: a heatmap and a hoverable token strip), the top next tokens
 * (run), and an analysis plan (explain).
 */
import type {
  Answer,
  AttentionResult,
  DlaResult,
  HeadScore,
  LensResult,
  PromptInfo,
  RunResult,
} from '../analysis/types.js';
import { attentionView } from './attentionPatterns.js';
import { dlaBarsChart } from './dlaBars.js';
import { visibleToken } from './escape.js';
import { renderPage, type ChartSpec } from './page.js';

function answerText(a: Answer): string {
  const why = {
    given: 'given by --answer',
    repeat: 'predicted by the repeated sequence',
    top: "the model's top prediction",
  };
  return `${JSON.stringify(a.token)} (id ${a.id}, ${why[a.source]})`;
}

function base(model: string, prompt: PromptInfo): { model: string; prompt: string; tokens: string[] } {
  return { model, prompt: prompt.text, tokens: prompt.tokens };
}

/** The DLA bar chart (shared by the dla and demo reports): the one bar renderer, in the order given. */
export function dlaChart(r: DlaResult, values: readonly { label: string; value: number }[]): ChartSpec {
  return dlaBarsChart(
    'chart-dla',
    { bars: values },
    `Direct logit attribution to ${JSON.stringify(r.answer.token)}`,
  );
}

/** Bar chart of the largest direct logit attributions. */
export function dlaReport(r: DlaResult): string {
  const values = r.rows.map((row, i) => ({ rank: i + 1, label: row.label, value: row.value }));
  return renderPage({
    ...base(r.model, r.prompt),
    title: 'direct logit attribution',
    facts: [
      ['answer', answerText(r.answer)],
      ['by', `${r.by} (top ${r.rows.length} of ${r.components} components, last position)`],
    ],
    charts: [dlaChart(r, values)],
    table: {
      headers: ['rank', 'component', 'attribution'],
      rows: values.map((v) => [v.rank, v.label, v.value]),
    },
  });
}

/** The logit lens's rank and probability charts (shared by the lens and demo reports). */
export function lensCharts(r: LensResult): ChartSpec[] {
  const values = r.rows.map((row, i) => ({ step: i, ...row }));
  const order = r.rows.map((row) => row.label);
  const x = {
    field: 'label',
    type: 'ordinal',
    sort: order,
    title: 'residual stream at',
    axis: { labelAngle: 0 },
  };
  const line = (field: string, title: string, scale: Record<string, unknown>): Record<string, unknown> => ({
    width: 480,
    height: 200,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x,
      y: { field, type: 'quantitative', title, scale },
      tooltip: [{ field: 'label' }, { field: 'rank' }, { field: 'prob', format: '.4f' }],
    },
  });
  return [
    {
      id: 'chart-rank',
      title: 'Rank of the answer (1 = top)',
      spec: line('rank', 'rank', { type: 'log', reverse: true, domainMin: 1 }),
    },
    {
      id: 'chart-prob',
      title: 'Probability of the answer',
      spec: line('prob', 'probability', { domain: [0, 1] }),
    },
  ];
}

/** Line charts of the answer's rank and probability after each layer. */
export function lensReport(r: LensResult): string {
  return renderPage({
    ...base(r.model, r.prompt),
    title: 'logit lens',
    facts: [['answer', answerText(r.answer)]],
    charts: lensCharts(r),
    table: {
      headers: ['after', 'rank', 'probability', 'logit'],
      rows: r.rows.map((row) => [row.label, row.rank, row.prob, row.logit]),
    },
  });
}

/** One head's attention: the attention view (heatmap and token strip) the library draws too. */
export function attentionReport(r: AttentionResult): string {
  const labels = r.prompt.tokens.map((t, i) => `${i} ${visibleToken(t)}`);
  const head = `L${r.layer}H${r.head}`;
  const view = attentionView('chart-attention', {
    tokens: r.prompt.tokens,
    patterns: [r.pattern],
    labels: [head],
  });
  const facts: [string, string][] = [['head', head]];
  if (r.inductionScore !== null) facts.push(['induction score', r.inductionScore.toFixed(4)]);
  return renderPage({
    ...base(r.model, r.prompt),
    title: 'attention pattern',
    facts,
    sections: [view.section],
    charts: view.charts,
    table: {
      headers: ['query', 'most attended key', 'weight'],
      rows: r.pattern.map((row, q) => {
        const k = row.indexOf(Math.max(...row));
        return [labels[q], labels[k], row[k]];
      }),
    },
  });
}

/** Bar chart of the most likely next tokens. */
export function runReport(r: RunResult): string {
  const values = r.predictions.map((p, i) => ({
    label: `${i + 1}. ${visibleToken(p.token)}`,
    prob: p.prob,
    logit: p.logit,
  }));
  return renderPage({
    ...base(r.model, r.prompt),
    title: 'next-token predictions',
    charts: [
      {
        id: 'chart-run',
        title: 'Most likely next tokens',
        spec: {
          width: 480,
          height: { step: 20 },
          data: { values },
          mark: 'bar',
          encoding: {
            y: { field: 'label', type: 'nominal', sort: null, title: 'token' },
            x: { field: 'prob', type: 'quantitative', title: 'probability' },
            tooltip: [{ field: 'label' }, { field: 'prob', format: '.4f' }],
          },
        },
      },
    ],
    table: {
      headers: ['rank', 'token', 'probability', 'logit'],
      rows: r.predictions.map((p, i) => [i + 1, visibleToken(p.token), p.prob, p.logit]),
    },
  });
}

/** The plan of an attribution, as text. */
export function explainReport(r: {
  model: string;
  prompt: PromptInfo;
  answer: Answer;
  by: string;
  plan: string;
}): string {
  return renderPage({
    ...base(r.model, r.prompt),
    title: 'analysis plan',
    facts: [
      ['answer', answerText(r.answer)],
      ['analysis', `logitAttrs of the --by ${r.by} stack at the last position`],
    ],
    charts: [],
    pre: r.plan,
  });
}

/** `demo`: the DLA chart, the logit lens charts and a bar chart of every head's induction score. */
export function demoReport(dla: DlaResult, lens: LensResult, scores: readonly HeadScore[]): string {
  const values = dla.rows.map((row) => ({ label: row.label, value: row.value }));
  const induction = scores.map((h) => ({ label: h.label, value: h.score }));
  return renderPage({
    ...base(dla.model, dla.prompt),
    title: 'demo: attribution, logit lens and induction scores',
    facts: [['answer', answerText(dla.answer)]],
    charts: [
      dlaChart(dla, values),
      ...lensCharts(lens),
      dlaBarsChart(
        'chart-induction',
        { bars: induction, labelTitle: 'head', valueTitle: 'induction score' },
        'Induction score per head',
      ),
    ],
    table: { headers: ['head', 'induction score'], rows: induction.map((h) => [h.label, h.value]) },
  });
}
