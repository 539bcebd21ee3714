// Builds the documentation site with typedoc (typedoc.json: warnings are errors) into a temporary
// folder, serves it on 127.0.0.1 and opens it in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): the index, a guide and the ActivationCache page render, the search
// finds `logitAttrs`, and no internal link of any page — the navigation included — is broken.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);

if (!HAS_CHROMIUM) {
  console.warn(`site.browser.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** A static file server for `dir` (typedoc's search fetches its index, which file:// blocks). */
function serve(dir: string): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(dir, path));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      ok({ server, base: `http://127.0.0.1:${port}/` });
    }),
  );
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? htmlFiles(join(dir, e.name)) : e.name.endsWith('.html') ? [join(dir, e.name)] : [],
  );
}

const ids = new Map<string, Set<string>>();
/** The `id`s (and `name`s) a file defines, for checking `#anchor` links. */
function idsOf(file: string): Set<string> {
  let set = ids.get(file);
  if (!set) {
    const text = readFileSync(file, 'utf8');
    set = new Set([...text.matchAll(/\s(?:id|name)="([^"]+)"/g)].map((m) => m[1]));
    ids.set(file, set);
  }
  return set;
}

/** Why an href found in `from` is broken, or undefined when it resolves to a file (and anchor). */
function brokenLink(site: string, from: string, href: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) return undefined; // external
  if (href === '' || href === '#') return undefined; // this page
  const [pathPart, anchor] = href.split('#', 2);
  const target = pathPart === '' ? from : resolve(dirname(from), decodeURIComponent(pathPart.split('?')[0]));
  if (!target.startsWith(site + sep) && target !== site) return `leaves the site: ${href}`;
  if (!existsSync(target) || statSync(target).isDirectory()) return `missing file: ${href}`;
  if (anchor && /\.(html|svg)$/.test(target) && !idsOf(target).has(decodeURIComponent(anchor))) {
    return `missing anchor: ${href}`;
  }
  return undefined;
}

describe.skipIf(!HAS_CHROMIUM)('the documentation site in headless Chromium', () => {
  let site: string;
  let server: Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    site = mkdtempSync(join(tmpdir(), 'lazylens-site-'));
    // Type errors are tsc's job (npm run typecheck); skipping them here halves the build time.
    // Warnings still fail the build (treatWarningsAsErrors in typedoc.json).
    await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'node_modules/typedoc/bin/typedoc'),
        '--out',
        site,
        '--skipErrorChecking',
        '--logLevel',
        'Warn',
      ],
      { cwd: ROOT },
    );
    ({ server, base } = await serve(site));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    if (site) rmSync(site, { recursive: true, force: true });
  });

  it('renders the index with the README and the guides in the navigation', async () => {
    await page.goto(`${base}index.html`);
    await expect(page.title()).resolves.toContain('lazylens');
    const body = await page.textContent('.col-content');
    expect(body).toContain('A first analysis');
    // The sidebar is built by script from navigation.js.
    await page.waitForSelector('.site-menu a[href*="documents/"]', { state: 'attached' });
    const nav = await page.$$eval('.site-menu a', (as) => as.map((a) => a.textContent?.trim() ?? ''));
    for (const title of [
      'Getting started',
      'The lazy graph',
      'Recipes',
      'Loading your own checkpoints',
      'Coming from TransformerLens',
      'Differences from TransformerLens',
    ]) {
      expect(nav).toContain(title);
    }
    expect(nav).toContain('ActivationCache');
    expect(pageErrors).toEqual([]);
  });

  it('renders a guide, its headings and code', async () => {
    await page.goto(`${base}documents/The_lazy_graph.html`);
    await expect(page.textContent('h1')).resolves.toContain('The lazy graph');
    const headings = await page.$$eval('.col-content h2', (hs) => hs.map((h) => h.textContent?.trim() ?? ''));
    expect(headings).toContain('Reading a plan');
    expect(await page.locator('pre code').count()).toBeGreaterThan(3);
    await expect(page.textContent('.col-content')).resolves.toContain('27.1 GiB');
    expect(pageErrors).toEqual([]);
  });

  it('renders the ActivationCache page with its methods and their result dims', async () => {
    await page.goto(`${base}classes/lazylens.ActivationCache.html`);
    await expect(page.textContent('h1')).resolves.toContain('ActivationCache');
    const members = await page.$$eval('.tsd-member h3', (hs) => hs.map((h) => h.textContent?.trim() ?? ''));
    for (const m of ['logitAttrs', 'decomposeResid', 'stackHeadResults', 'getFullResidDecomposition']) {
      expect(members.some((t) => t.includes(m))).toBe(true);
    }
    await expect(page.textContent('.col-content')).resolves.toContain('[components, *batch_and_pos]');
    expect(pageErrors).toEqual([]);
  });

  it("finds 'logitAttrs' with the site's search", async () => {
    await page.goto(`${base}index.html`);
    await page.click('#tsd-search-trigger');
    await page.fill('#tsd-search-input', 'logitAttrs');
    const hit = page.locator('#tsd-search-results li a', { hasText: 'logitAttrs' }).first();
    await hit.waitFor({ timeout: 15_000 });
    const href = await hit.getAttribute('href');
    expect(href).toMatch(/ActivationCache\.html#logitattrs/);
    await hit.click();
    await page.waitForURL(/ActivationCache\.html/);
    expect(pageErrors).toEqual([]);
  });

  it('has no broken internal link on any page (static hrefs and the rendered navigation)', async () => {
    const broken: string[] = [];
    const files = htmlFiles(site);
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [, href] of text.matchAll(/\shref="([^"]*)"/g)) {
        const why = brokenLink(site, file, href.replace(/&amp;/g, '&'));
        if (why) broken.push(`${relative(site, file)}: ${why}`);
      }
    }
    // Links the scripts add (navigation, breadcrumbs) exist only in the DOM: check one page's.
    for (const path of ['index.html', 'documents/Recipes.html', 'classes/lazylens.ActivationCache.html']) {
      await page.goto(`${base}${path}`);
      await page.waitForSelector('.site-menu a[href*="documents/"]', { state: 'attached' });
      const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href') ?? ''));
      for (const href of hrefs) {
        const why = brokenLink(site, join(site, path), href);
        if (why) broken.push(`${path} (rendered): ${why}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
