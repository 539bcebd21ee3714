// Every parameter of the public API is described (`@param name what it is`), so the API site never
// shows a bare parameter. Parameters that had no description when this check was added are listed
// in paramDocs.baseline.json: the list may only shrink (a described one must leave it), and
// anything new must be described.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { missingParamDocs } from './paramDocs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
const BASELINE = JSON.parse(
  readFileSync(new URL('./paramDocs.baseline.json', import.meta.url), 'utf8'),
) as string[];

it('describes every parameter of every exported function and public method', () => {
  const missing = missingParamDocs(ROOT, ['src/index.ts', 'graph/index.ts']);
  const known = new Set(BASELINE);
  const fresh = missing.filter((m) => !known.has(m.id)).map((m) => `${m.id} at ${m.where}`);
  expect(fresh, 'parameters without an @param description').toEqual([]);
  const now = new Set(missing.map((m) => m.id));
  const fixed = BASELINE.filter((id) => !now.has(id));
  expect(fixed, 'described now: remove them from paramDocs.baseline.json').toEqual([]);
}, 120_000);
