// Opens each kind of HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): the charts render, axis and token labels are in the DOM, the <script> prompt
// never runs, and nothing is fetched. Screenshots go to test-artifacts/ (gitignored).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttentionResult, DlaResult, LensResult, RunResult } from '../../src/analysis/types.js';
import { visibleToken } from '../../src/report/escape.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { CHROMIUM, HAS_CHROMIUM, launchChromium, warnIfNoChromium } from '../helpers/chromium.js';
import { cliJson, FIXTURE, XSS_PROMPT } from './helpers.js';

const ARTIFACTS = resolve('test-artifacts');

warnIfNoChromium('report.browser.test.ts');

interface Rendered {
  state: string | undefined;
  xss: unknown;
  svgs: number;
  marks: number;
  axisLabels: string[];
  axisTitles: string[];
  error: string;
  promptText: string;
}

/** Loads a report, waits for its charts, and reads what a person would see. */
async function open(page: Page, file: string, requests: string[]): Promise<Rendered> {
  requests.length = 0;
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => document.body.dataset.rendered !== undefined, null, { timeout: 30_000 });
  return page.evaluate(() => {
    const texts = (sel: string): string[] =>
      [...document.querySelectorAll(sel)].map((t) => t.textContent ?? '');
    return {
      state: document.body.dataset.rendered,
      xss: (window as unknown as { __xss?: unknown }).__xss,
      svgs: document.querySelectorAll('.chart svg').length,
      marks: document.querySelectorAll('.chart svg .role-mark path').length,
      axisLabels: texts('.chart svg .role-axis-label text'),
      axisTitles: texts('.chart svg .role-axis-title text'),
      error: document.getElementById('lazylens-error')?.textContent ?? '',
      promptText: document.querySelector('.prompt')?.textContent ?? '',
    };
  });
}

describe.skipIf(!HAS_CHROMIUM)(`HTML reports in headless Chromium (${CHROMIUM})`, () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Writes the report of `kind` for the <script> prompt, returns the command's JSON and the file. */
  async function report<T>(kind: string, ...args: string[]): Promise<{ data: T; file: string }> {
    const file = join(ARTIFACTS, `report-${kind}.html`);
    const data = await cliJson<T>(kind, '--model', FIXTURE, '--prompt', XSS_PROMPT, '--html', file, ...args);
    return { data, file };
  }

  async function check(kind: string, file: string, charts: number): Promise<Rendered> {
    const r = await open(page, file, requests);
    await page.screenshot({ path: join(ARTIFACTS, `report-${kind}.png`), fullPage: true });
    expect(r.error).toBe('');
    expect(r.state).toBe('true');
    expect(r.xss).toBeUndefined(); // the prompt's <script> never ran
    expect(r.promptText).toBe(XSS_PROMPT); // … and shows as text
    expect(r.svgs).toBe(charts);
    expect(requests).toEqual([]); // self-contained: nothing fetched
    return r;
  }

  it('control: the same prompt unescaped would run (so the check below can fail)', async () => {
    const file = join(ARTIFACTS, 'control-unescaped.html');
    writeFileSync(
      file,
      `<!doctype html><body>${XSS_PROMPT}<script>document.body.dataset.rendered = 'true';</script>`,
    );
    const r = await open(page, file, requests);
    expect(r.xss).toBe(1);
  });

  describeBackends(
    'reports',
    () => {
      it('dla: a bar per component, labelled', async () => {
        const { data, file } = await report<DlaResult>('dla', '--top', '8');
        const r = await check('dla', file, 1);
        expect(r.marks).toBe(data.rows.length);
        for (const row of data.rows) expect(r.axisLabels).toContain(row.label);
        expect(r.axisTitles).toEqual(expect.arrayContaining(['component', 'logit attribution']));
      });

      it('lens: a line with a point per layer, for rank and for probability', async () => {
        const { data, file } = await report<LensResult>('lens');
        const r = await check('lens', file, 2);
        expect(r.marks).toBe(2 * (1 + data.rows.length)); // per chart: the line and its points
        for (const row of data.rows) expect(r.axisLabels).toContain(row.label);
        expect(r.axisTitles).toEqual(expect.arrayContaining(['rank', 'probability', 'residual stream at']));
      });

      it('attention: a cell per causal (query, key) pair, token labels on both axes', async () => {
        const { data, file } = await report<AttentionResult>('attention', '--layer', '1', '--head', '0');
        const r = await check('attention', file, 1);
        const n = data.prompt.tokens.length;
        expect(r.marks).toBe((n * (n + 1)) / 2);
        const labels = data.prompt.tokens.map((t, i) => `${i} ${visibleToken(t)}`);
        for (const label of labels) {
          // each token label twice: on the query axis and on the key axis
          expect(r.axisLabels.filter((l) => l === label)).toHaveLength(2);
        }
        expect(labels.some((l) => l.includes('<'))).toBe(true); // the '<' token is drawn as text
        expect(r.axisTitles).toEqual(expect.arrayContaining(['query (attending)', 'key (attended to)']));
      });

      it('run: a bar per predicted token', async () => {
        const { data, file } = await report<RunResult>('run', '--top', '5');
        const r = await check('run', file, 1);
        expect(r.marks).toBe(data.predictions.length);
      });

      it('explain: the plan as text, no chart', async () => {
        const { file } = await report<unknown>('explain');
        await check('explain', file, 0);
        expect(await page.textContent('pre.plan')).toContain('== planned plan');
      });
    },
    WASM_ONLY,
  );
});
