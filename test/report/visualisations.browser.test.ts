// The library's visualisation pages in headless Chromium: each renders with no console error and
// nothing fetched, draws a mark per value, shows token text as text, and reacts to the mouse —
// hovering a query token lights its row in every head's heatmap and colours the strip by its
// attention; hovering a coloured token shows its value. Pages and screenshots go to test-artifacts/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { attentionPatternsHtml, coloredTokensHtml, dlaBarsHtml, heatmapHtml } from '../../src/index.js';
import {
  HAS_CHROMIUM,
  launchChromium,
  waitRendered,
  warnIfNoChromium,
  watchPage,
  type PageProblems,
} from '../helpers/chromium.js';

const ARTIFACTS = resolve('test-artifacts');
const XSS = '<script>window.__xss=1</script>';
const TOKENS = ['<bos>', XSS, ' the', 'cat\n', 'cat'];

warnIfNoChromium('visualisations.browser.test.ts');

/** Head h attends from query q mostly to key max(0, q − h). */
function causalPatterns(heads: number, n: number): number[][][] {
  return Array.from({ length: heads }, (_, h) =>
    Array.from({ length: n }, (_, q) =>
      Array.from({ length: n }, (_, k) => {
        if (k > q) return 0;
        if (q === 0) return 1;
        return k === Math.max(0, q - h) ? 0.7 : 0.3 / q;
      }),
    ),
  );
}

describe.skipIf(!HAS_CHROMIUM)('visualisation pages in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    problems = watchPage(page);
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(() => {
    problems.requests.length = 0;
    problems.errors.length = 0;
  });

  /** Writes `html`, opens it, waits for the charts; checks it drew cleanly and ran no prompt text. */
  async function open(name: string, html: string): Promise<void> {
    const file = join(ARTIFACTS, `viz-${name}.html`);
    writeFileSync(file, html);
    await page.goto(pathToFileURL(file).href);
    expect(await waitRendered(page)).toBe('true');
    await page.screenshot({ path: join(ARTIFACTS, `viz-${name}.png`), fullPage: true });
    expect(await page.textContent('#lazylens-error')).toBe('');
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(problems.errors).toEqual([]);
    expect(problems.requests).toEqual([]);
  }

  /** Each heatmap's cell opacities, in data order (row by row). */
  function opacities(): Promise<string[][]> {
    return page.evaluate(() =>
      [...document.querySelectorAll('.chart svg')].map((svg) =>
        [...svg.querySelectorAll('.role-mark path')].map((p) => p.getAttribute('opacity') ?? '1'),
      ),
    );
  }

  const texts = (sel: string): Promise<string[]> =>
    page.evaluate((s) => [...document.querySelectorAll(s)].map((t) => t.textContent ?? ''), sel);

  it('attention: a heatmap per head; hovering a query token lights its row and colours the strip', async () => {
    const patterns = causalPatterns(3, 5);
    await open('attention', await attentionPatternsHtml({ tokens: TOKENS, patterns, layer: 1 }));
    const before = await opacities();
    expect(before.map((cells) => cells.length)).toEqual([15, 15, 15]); // 5·6/2 causal cells per head
    expect(before.flat().every((o) => o === '1')).toBe(true);
    const labels = await texts('.chart svg .role-axis-label text');
    expect(labels.filter((l) => l === `1 ${XSS}`)).toHaveLength(6); // both axes of 3 heads, as text
    expect(labels.filter((l) => l === '3 cat↵')).toHaveLength(6);
    expect(await texts('.chart svg .role-title-text')).toEqual(['L1H0', 'L1H1', 'L1H2']);

    // Query 3 ('cat\n'): its four cells (keys 0..3) stay lit in every head, the other eleven dim.
    await page.hover('.ll-strip span[data-pos="3"]');
    await page.waitForFunction(() => document.querySelector('.chart svg .role-mark path[opacity="0.15"]'));
    const row3 = [6, 7, 8, 9]; // data order: rows 0, 1, 2 hold 1 + 2 + 3 cells
    for (const cells of await opacities()) {
      expect(cells.map((o, i) => (o === '1') === row3.includes(i))).toEqual(cells.map(() => true));
    }
    const weights = (): Promise<string[]> =>
      page.$$eval('.ll-strip span', (spans) => spans.map((s) => (s as HTMLElement).dataset.weight ?? ''));
    expect(await weights()).toEqual(patterns[0][3].map((w) => w.toFixed(4)));
    expect(await page.textContent('.ll-readout')).toContain('L1H0, query 3 cat↵: most attention to 3 cat↵');
    // The strip follows the head selector: head 2 looks two tokens back.
    await page.selectOption('select', '2');
    expect(await weights()).toEqual(patterns[2][3].map((w) => w.toFixed(4)));

    // Leaving the strip clears the highlight; hovering a cell of head 1 picks that cell's query.
    await page.mouse.move(1100, 880);
    await page.waitForFunction(() => !document.querySelector('.chart svg .role-mark path[opacity="0.15"]'));
    const cell = page.locator('#ll-attention-1 svg .role-mark path').nth(10); // row 4, key 0
    await cell.hover({ force: true });
    await page.waitForFunction(() => document.querySelector('.chart svg .role-mark path[opacity="0.15"]'));
    const row4 = [10, 11, 12, 13, 14];
    for (const cells of await opacities()) {
      expect(cells.map((o, i) => (o === '1') === row4.includes(i))).toEqual(cells.map(() => true));
    }
    expect(await page.inputValue('select')).toBe('1');
    expect(await weights()).toEqual(patterns[1][4].map((w) => w.toFixed(4)));
  });

  it('dla: a bar per component, sorted, negative bars red', async () => {
    const labels = ['L0H0', 'L0H1', XSS, 'L1H1'];
    await open('dla', await dlaBarsHtml({ labels, values: [0.5, -2, 1, -0.25] }));
    const bars = await page.$$eval('.chart svg .role-mark path', (ps) =>
      ps.map((p) => p.getAttribute('fill')),
    );
    expect(bars).toEqual(['#2e86c1', '#2e86c1', '#c0392b', '#c0392b']);
    const shown = (await texts('.chart svg .role-axis-label text')).filter((t) => labels.includes(t));
    expect(shown).toEqual([XSS, 'L0H0', 'L1H1', 'L0H1']);
    expect(await texts('.chart svg .role-axis-title text')).toEqual(
      expect.arrayContaining(['component', 'logit attribution']),
    );
  });

  it('heatmap: a cell per non-empty value, labelled rows and columns', async () => {
    await open(
      'heatmap',
      await heatmapHtml({
        values: [
          [1, -1, null],
          [0.5, 0, 2],
        ],
        rowLabels: ['layer 0', XSS],
        colLabels: ['a', 'b', 'c'],
        rowTitle: 'layer',
        colTitle: 'position',
      }),
    );
    expect(await page.locator('.chart svg .role-mark path').count()).toBe(5);
    expect(await texts('.chart svg .role-axis-label text')).toEqual(
      expect.arrayContaining(['layer 0', XSS, 'a', 'b', 'c']),
    );
    expect(await texts('.chart svg .role-axis-title text')).toEqual(
      expect.arrayContaining(['layer', 'position']),
    );
  });

  it('coloured tokens: a background per value; hovering a token shows its value', async () => {
    await open(
      'tokens',
      await coloredTokensHtml({ tokens: TOKENS, values: [0, 2, -2, 1, -1], valueTitle: 'loss' }),
    );
    expect(await page.locator('svg').count()).toBe(0);
    const backgrounds = await page.$$eval('.ll-strip span', (spans) =>
      spans.map((s) => getComputedStyle(s).backgroundColor),
    );
    expect(backgrounds).toEqual([
      'rgb(255, 255, 255)',
      'rgb(33, 102, 172)',
      'rgb(178, 24, 43)',
      'rgb(144, 179, 214)',
      'rgb(217, 140, 149)',
    ]);
    expect(await texts('.ll-strip span')).toEqual(['<bos>', XSS, '␣the', 'cat↵', 'cat']);
    await page.hover('.ll-strip span[data-pos="2"]');
    expect(await page.textContent('.ll-readout')).toBe('2 ␣the: loss = -2');
    await page.hover('.ll-strip span[data-pos="1"]');
    expect(await page.textContent('.ll-readout')).toBe(`1 ${XSS}: loss = 2`);
  });
});
