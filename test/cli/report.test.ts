// Reports escape prompt and token text: a prompt holding <script> shows as text in every kind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScript, visibleToken } from '../../src/report/escape.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';
import { cli, FIXTURE, reportData, XSS_PROMPT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lazylens-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Report kinds: the command and how many charts its page draws. */
const KINDS: [string, number][] = [
  ['dla', 1],
  ['lens', 2],
  ['attention', 1],
  ['run', 1],
  ['explain', 0],
];

describe('escaping helpers', () => {
  it('escapeHtml escapes the five markup characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('jsonForScript leaves no <, > or & and parses back to the same value', () => {
    const value = { s: '</script><script>alert(1)</script> & \u2028', n: [1, 2] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('visibleToken shows spaces and newlines', () => {
    expect(visibleToken(' the\n')).toBe('␣the↵');
  });
});

describeBackends(
  'HTML reports escape the prompt',
  () => {
    for (const [kind, charts] of KINDS) {
      it(`${kind}: the <script> prompt is text, never markup`, async () => {
        const file = join(tmp, `${kind}.html`);
        const r = await cli(kind, '--model', FIXTURE, '--prompt', XSS_PROMPT, '--html', file, '--json');
        expect(r.code, r.stderr).toBe(0);
        const html = readFileSync(file, 'utf8');
        // The prompt appears only escaped: never as a live tag.
        expect(html.includes('<script>window.__xss')).toBe(false);
        expect(html.includes('&lt;script&gt;window.__xss=1&lt;/script&gt;')).toBe(true);
        // Script elements: vega, vega-lite, the data, the drawing code (or the data and a marker).
        const scripts = html.match(/<script[\s>]/g) ?? [];
        expect(scripts).toHaveLength(charts ? 4 : 2);
        // The data element holds the tokens JSON-escaped, and parses back to the same strings.
        const data = reportData(file);
        expect(data.charts).toHaveLength(charts);
        const json = (JSON.parse(r.stdout) as { prompt: { text: string; tokens: string[] } }).prompt;
        expect(json.text).toBe(XSS_PROMPT);
        if (kind === 'attention') {
          const values = (data.charts[0].spec.data as { values: { rowLabel: string }[] }).values;
          expect(values.some((v) => v.rowLabel.includes('<'))).toBe(true); // a token label with '<' …
          expect(html).toContain('\\u003c'); // … is written escaped in the page
        }
      });
    }
  },
  WASM_ONLY,
);
