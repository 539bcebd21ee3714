// The library's visualisation pages as HTML: self-contained, text escaped, one mark per value,
// labels present, and bad input refused with a message saying what was given and expected.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  attentionPatternsHtml,
  coloredTokensHtml,
  dlaBarsHtml,
  heatmapHtml,
  HookedTransformer,
  InvalidArgumentError,
  Lazy,
  ShapeError,
} from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

interface PageData {
  charts: {
    id: string;
    spec: { data: { values: Record<string, unknown>[] }; params?: { name: string; value: unknown }[] };
  }[];
  sections: { id: string; data: Record<string, unknown> }[];
}

/** The page's data element, parsed back. */
function pageData(html: string): PageData {
  const m = /<script type="application\/json" id="lazylens-data">([^<]*)<\/script>/.exec(html);
  if (!m) throw new Error('no data element');
  return JSON.parse(m[1]) as PageData;
}

function param(chart: PageData['charts'][number], name: string): unknown {
  return chart.spec.params?.find((p) => p.name === name)?.value;
}

/** Nothing loaded from elsewhere: no script src, no stylesheet link, no image or frame. */
function expectSelfContained(html: string): void {
  expect(/<script[^>]*\bsrc=/i.test(html), 'a <script src>').toBe(false);
  expect(/<link\b/i.test(html), 'a <link>').toBe(false);
  expect(/<(img|iframe)\b/i.test(html), 'an image or frame').toBe(false);
}

const XSS = '<script>window.__xss=1</script>';
const TOKENS = ['<bos>', XSS, ' the', 'cat\n', 'cat'];

/** A causal pattern: head h attends to key max(0, q − h) with weight 0.7, the rest spread evenly. */
function causalPatterns(heads: number, n: number): number[][][] {
  return Array.from({ length: heads }, (_, h) =>
    Array.from({ length: n }, (_, q) =>
      Array.from({ length: n }, (_, k) => {
        if (k > q) return 0;
        if (q === 0) return 1;
        const focus = Math.max(0, q - h);
        return k === focus ? 0.7 : 0.3 / q;
      }),
    ),
  );
}

/** The <script> text never appears as a live tag; in markup it is escaped, in the data JSON-escaped. */
function expectEscaped(html: string, inMarkup = true): void {
  expect(html.includes('<script>window.__xss'), 'a live <script> tag').toBe(false);
  expect(html.includes('\\u003cscript\\u003ewindow.__xss'), 'JSON-escaped in the data').toBe(true);
  if (inMarkup)
    expect(html.includes('&lt;script&gt;window.__xss=1&lt;/script&gt;'), 'escaped text').toBe(true);
}

describe('attentionPatternsHtml', () => {
  it('draws a heatmap per head with a cell per causal (query, key) pair and both axes labelled', async () => {
    const html = await attentionPatternsHtml({ tokens: TOKENS, patterns: causalPatterns(3, 5), layer: 2 });
    expectSelfContained(html);
    expectEscaped(html);
    expect(html.includes('>␣the</span>')).toBe(true); // spaces and newlines shown
    expect(html.includes('>cat↵</span>')).toBe(true);
    const data = pageData(html);
    expect(data.charts.map((c) => c.spec.data.values.length)).toEqual([15, 15, 15]);
    const labels = ['0 <bos>', `1 ${XSS}`, '2 ␣the', '3 cat↵', '4 cat'];
    for (const c of data.charts) {
      expect(param(c, 'rowLabels')).toEqual(labels);
      expect(param(c, 'colLabels')).toEqual(labels);
    }
    expect(html.includes('<option value="2">L2H2</option>')).toBe(true);
    // The strip holds each token once, and the section's data the weights the hover reads.
    expect(html.match(/<span data-pos="/g)).toHaveLength(5);
    expect(data.sections[0].data.patterns).toEqual(causalPatterns(3, 5));
    // vega, vega-lite, the data, the drawing code: nothing else runs.
    expect(html.match(/<script[\s>]/g)).toHaveLength(4);
  });

  it('draws every cell of a non-causal pattern, and only the heads asked for, with their labels', async () => {
    const n = 3;
    const full = [Array.from({ length: n }, () => [0.2, 0.3, 0.5])];
    const html = await attentionPatternsHtml({
      tokens: ['a', 'b', 'c'],
      patterns: [...full, ...full],
      heads: [1],
      labels: ['mine'],
    });
    const data = pageData(html);
    expect(data.charts).toHaveLength(1);
    expect(data.charts[0].spec.data.values).toHaveLength(9);
    expect(html.includes('<dd>mine</dd>')).toBe(true);
    expect(html.includes('<select>')).toBe(false); // one head: no head selector
  });

  it('refuses bad input with what was given and what was expected', async () => {
    const patterns = causalPatterns(2, 5);
    await expect(attentionPatternsHtml({ tokens: TOKENS.slice(1), patterns })).rejects.toThrow(
      new ShapeError(
        'attentionPatternsHtml: patterns of shape [2, 5, 5] given with 4 tokens; expected [heads, 4, 4] (a query row and a key column per token).',
      ),
    );
    await expect(
      attentionPatternsHtml({ tokens: TOKENS, patterns, head: 1 } as unknown as Parameters<
        typeof attentionPatternsHtml
      >[0]),
    ).rejects.toThrow(/unknown option 'head' given; expected one of .* Did you mean 'heads'\?/);
    await expect(attentionPatternsHtml({ tokens: TOKENS, patterns, heads: [2] })).rejects.toThrow(
      /head 2 given; expected an integer in \[0, 1\]/,
    );
    await expect(attentionPatternsHtml({ tokens: TOKENS, patterns, labels: ['x'] })).rejects.toThrow(
      /1 labels given for 2 heads; expected 2/,
    );
    const batch = [causalPatterns(1, 2), causalPatterns(1, 2)]; // [2, 1, 2, 2]: not heads
    await expect(attentionPatternsHtml({ tokens: ['a', 'b'], patterns: batch })).rejects.toThrow(
      /patterns of shape \[2, 1, 2, 2\] given \(a batch of 2: pass one entry/,
    );
    const ragged = [[[1], [0.5, 0.5]]];
    await expect(attentionPatternsHtml({ tokens: ['a', 'b'], patterns: ragged })).rejects.toThrow(ShapeError);
    const nan = causalPatterns(1, 2);
    nan[0][1][0] = NaN;
    await expect(attentionPatternsHtml({ tokens: ['a', 'b'], patterns: nan })).rejects.toThrow(
      new InvalidArgumentError('attentionPatternsHtml: patterns[0][1][0] is NaN; expected a finite number.'),
    );
  });
});

describe('dlaBarsHtml', () => {
  const labels = ['L0H0', 'L0H1', XSS, 'L1H1'];
  const values = [0.5, -2, 1, -0.25];

  it('sorts the bars (by value, by magnitude or as given) and keeps the top ones', async () => {
    const bars = async (o: Parameters<typeof dlaBarsHtml>[1]): Promise<unknown[]> =>
      pageData(await dlaBarsHtml({ labels, values }, o)).charts[0].spec.data.values.map((v) => v.value);
    expect(await bars({})).toEqual([1, 0.5, -0.25, -2]);
    expect(await bars({ sortBy: 'abs' })).toEqual([-2, 1, 0.5, -0.25]);
    expect(await bars({ sortBy: 'none', top: 2 })).toEqual([0.5, -2]);
    const html = await dlaBarsHtml({ labels, values });
    expectSelfContained(html);
    expectEscaped(html);
    expect(param(pageData(html).charts[0], 'barLabels')).toEqual([XSS, 'L0H0', 'L1H1', 'L0H1']);
  });

  it('refuses mismatched labels, unknown options and a Lazy without labels', async () => {
    await expect(dlaBarsHtml({ labels: ['a'], values })).rejects.toThrow(
      new ShapeError('dlaBarsHtml: 1 labels given for 4 values; expected 4, one each.'),
    );
    await expect(dlaBarsHtml({ labels, values }, { sort: 'abs' } as never)).rejects.toThrow(
      /unknown option 'sort' given.*Did you mean 'sortBy'\?/,
    );
    await expect(dlaBarsHtml({ labels, values }, { sortBy: 'size' as never })).rejects.toThrow(
      /sortBy given as "size"; expected 'value', 'abs' or 'none'/,
    );
    await expect(dlaBarsHtml({ labels, values: [[1, 2]] as never })).rejects.toThrow(ShapeError);
    const t = tf.tensor1d([1, 2]);
    await expect(dlaBarsHtml(Lazy.of(t))).rejects.toThrow(/a Lazy without labels given/);
    t.dispose();
  });
});

describe('heatmapHtml', () => {
  it('draws a cell per value (null cells left empty), labelled, escaped', async () => {
    const html = await heatmapHtml({
      values: [
        [1, -1, null],
        [0.5, 0, 2],
      ],
      rowLabels: ['layer 0', XSS],
      colLabels: ['a', 'b', 'c'],
      title: 'patching <result>',
      valueTitle: 'logit diff',
    });
    expectSelfContained(html);
    expectEscaped(html, false); // the labels are drawn by the chart, from the data
    expect(html.includes('patching &lt;result&gt;')).toBe(true);
    const chart = pageData(html).charts[0];
    expect(chart.spec.data.values).toHaveLength(5);
    expect(param(chart, 'rowLabels')).toEqual(['layer 0', XSS]);
    expect(param(chart, 'colLabels')).toEqual(['a', 'b', 'c']);
  });

  it('refuses values that are not a matrix, labels of the wrong length and a bad domain', async () => {
    await expect(heatmapHtml({ values: [1, 2] })).rejects.toThrow(
      new ShapeError(
        'heatmapHtml: values of shape [2] given; expected [rows, cols] (size-1 dims are dropped; slice the others first).',
      ),
    );
    await expect(heatmapHtml({ values: [[1, 2]], colLabels: ['a'] })).rejects.toThrow(
      /1 colLabels given for 2 columns; expected 2/,
    );
    await expect(heatmapHtml({ values: [[1, 2]], domain: [1, 0] })).rejects.toThrow(
      /domain given as \[1,0\]/,
    );
    await expect(heatmapHtml({ values: [[1, 2]], colour: 'x' } as never)).rejects.toThrow(
      /unknown option 'colour'/,
    );
  });
});

describe('coloredTokensHtml', () => {
  it('colours each token by its value, blue above 0 and red below, with the value on hover', async () => {
    const html = await coloredTokensHtml({ tokens: TOKENS, values: [0, 2, -2, 1, -1], valueTitle: 'loss' });
    expectSelfContained(html);
    expectEscaped(html);
    const spans = [
      ...html.matchAll(
        /<span data-pos="(\d)" data-value="([^"]*)" title="([^"]*)" style="background: ([^;]*);/g,
      ),
    ];
    expect(spans.map((m) => m[2])).toEqual(['0', '2', '-2', '1', '-1']);
    expect(spans.map((m) => m[4])).toEqual([
      'rgb(255, 255, 255)',
      'rgb(33, 102, 172)',
      'rgb(178, 24, 43)',
      'rgb(144, 179, 214)',
      'rgb(217, 140, 149)',
    ]);
    expect(spans[2][3]).toBe('␣the: -2');
    expect(html.match(/<script[\s>]/g)).toHaveLength(2); // the data and the hover code; no chart library
  });

  it('refuses a value count that is not one per token', async () => {
    await expect(coloredTokensHtml({ tokens: ['a', 'b'], values: [1, 2, 3] })).rejects.toThrow(
      new ShapeError('coloredTokensHtml: 2 tokens given for 3 values; expected 3, one each.'),
    );
    await expect(coloredTokensHtml({ tokens: ['a'], values: [1], maxAbs: 0 })).rejects.toThrow(
      /maxAbs given as 0/,
    );
  });
});

describeBackends(
  'visualisations from a cache',
  () => {
    it('read tensors and Lazy results: the same page as from plain arrays', async () => {
      const model = HookedTransformer.fromConfig(
        { nLayers: 1, dModel: 16, dHead: 4, nHeads: 4, dVocab: 20, nCtx: 8, attnOnly: true },
        { seed: 1 },
      );
      const ids = [[1, 5, 7, 5, 7]];
      const tokens = ids[0].map((i) => `t${i}`);
      const { logits, cache } = await model.runWithCache(ids);
      const pattern = cache.get(['pattern', 0]); // [1, 4, 5, 5]
      const fromTensor = await attentionPatternsHtml({ tokens, patterns: pattern, layer: 0 });
      const plain = ((await pattern.array()) as number[][][][])[0];
      expect(fromTensor).toBe(await attentionPatternsHtml({ tokens, patterns: plain, layer: 0 }));
      expect(pageData(fromTensor).charts.map((c) => c.spec.data.values.length)).toEqual([15, 15, 15, 15]);
      await expect(attentionPatternsHtml({ tokens: tokens.slice(1), patterns: pattern })).rejects.toThrow(
        /patterns of shape \[1, 4, 5, 5\] given with 4 tokens; expected \[heads, 4, 4\]/,
      );

      const heads = cache.stackHeadResults({ posSlice: -1 }); // [4, 1, 16]
      const attrs = cache.logitAttrs(heads, 3, { posSlice: -1 }); // [4, 1]
      const values = ((await attrs.array()) as number[][]).map((r) => r[0]);
      const dla = await dlaBarsHtml(attrs);
      expect(dla).toBe(await dlaBarsHtml({ labels: heads.labels!, values }));
      expect(pageData(dla).charts[0].spec.data.values).toHaveLength(4);

      const byPos = cache.logitAttrs(cache.decomposeResid(), 3); // [3, 1, 5]: embed, pos_embed, 0_attn_out
      const heat = await heatmapHtml({ values: byPos, colLabels: tokens });
      const chart = pageData(heat).charts[0];
      expect(param(chart, 'rowLabels')).toEqual(['embed', 'pos_embed', '0_attn_out']);
      expect(chart.spec.data.values).toHaveLength(15);
      await expect(heatmapHtml({ values: pattern })).rejects.toThrow(/values of shape \[1, 4, 5, 5\] given/);

      const loss = await model.forward(ids, { returnType: 'loss', lossPerToken: true }); // [1, 4]
      const coloured = await coloredTokensHtml({ tokens: tokens.slice(1), values: loss });
      expect(coloured.match(/<span data-pos="/g)).toHaveLength(4);
      loss.dispose();
      logits.dispose();
      cache.dispose();
      model.dispose();
    });
  },
  WASM_ONLY,
);
