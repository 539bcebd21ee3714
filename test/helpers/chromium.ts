// Headless Chromium for the tests that open HTML pages: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download). Suites skip cleanly where it is not installed.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);

/** Warns once per file that its browser suite is skipped, and why. */
export function warnIfNoChromium(file: string): void {
  if (!HAS_CHROMIUM) {
    console.warn(`${file} skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);
  }
}

/** Starts headless Chromium with no sandbox, no GPU and no background network traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** What a page did that a self-contained report must not: fetch anything, log an error, throw. */
export interface PageProblems {
  /** URLs requested other than the page's own file. */
  requests: string[];
  /** console.error messages and uncaught exceptions. */
  errors: string[];
}

/** Records `page`'s requests and errors into a list the caller clears between pages. */
export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { requests: [], errors: [] };
  page.on('request', (r) => {
    if (!r.url().startsWith('file:')) problems.requests.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') problems.errors.push(m.text());
  });
  page.on('pageerror', (e) => problems.errors.push(String(e)));
  return problems;
}

/** Waits until a report's charts are drawn (or its drawing failed); returns the body's state. */
export async function waitRendered(page: Page): Promise<string | undefined> {
  await page.waitForFunction(() => document.body.dataset.rendered !== undefined, null, { timeout: 30_000 });
  return page.evaluate(() => document.body.dataset.rendered);
}
