// The patching heatmap report in headless Chromium (Debian's /usr/bin/chromium via playwright-core):
// one heatmap per activation with a cell per (layer, position), token labels on the x axis, the
// prompt's <script> shown as text and never run, nothing fetched.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PatchingResult } from '../../src/report/patchingReport.js';
import { cliJson, FIXTURE, XSS_PROMPT } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = resolve('test-artifacts');

describe.skipIf(!HAS_CHROMIUM)('the patching report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('every: three heatmaps, a cell per layer and position, labelled by token', async () => {
    const file = join(ARTIFACTS, 'report-patch.html');
    const corrupt = XSS_PROMPT.replace('xss', 'abc');
    const data = await cliJson<PatchingResult>(
      'patch',
      '--model',
      FIXTURE,
      '--clean',
      XSS_PROMPT,
      '--corrupt',
      corrupt,
      '--answer',
      ' cat',
      '--wrong',
      ' dog',
      '--what',
      'every',
      '--html',
      file,
    );
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.body.dataset.rendered !== undefined, null, { timeout: 30_000 });
    const seen = await page.evaluate(() => ({
      state: document.body.dataset.rendered,
      xss: (window as unknown as { __xss?: unknown }).__xss,
      error: document.getElementById('lazylens-error')?.textContent ?? '',
      prompt: document.querySelector('.prompt')?.textContent ?? '',
      charts: [...document.querySelectorAll('.chart')].map((c) => ({
        cells: c.querySelectorAll('svg .role-mark path').length,
        labels: [...c.querySelectorAll('svg .role-axis-label text')].map((t) => t.textContent ?? ''),
        titles: [...c.querySelectorAll('svg .role-axis-title text')].map((t) => t.textContent ?? ''),
      })),
    }));
    await page.screenshot({ path: join(ARTIFACTS, 'report-patch.png'), fullPage: true });
    await page.close();
    expect(seen.error).toBe('');
    expect(seen.state).toBe('true');
    expect(seen.xss).toBeUndefined();
    expect(seen.prompt).toBe(XSS_PROMPT);
    expect(requests).toEqual([]);
    const n = data.clean.tokens.length;
    expect(seen.charts).toHaveLength(3);
    for (const chart of seen.charts) {
      expect(chart.cells).toBe(2 * n);
      expect(chart.labels).toEqual(expect.arrayContaining(['L0', 'L1', '17 x / a']));
      expect(chart.titles).toEqual(expect.arrayContaining(['layer', 'position (clean / corrupted token)']));
    }
  });
});
