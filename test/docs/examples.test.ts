// Every `@example` in the public TSDoc runs here: an example that drifts from the code fails.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it, vi } from 'vitest';
import * as lazylens from '../../src/index.js';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, '.vitest-examples');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

interface Example {
  id: string;
  code: string;
}

/** The fenced code of each `@example` in a file's doc comments. */
function examplesOf(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const out: Example[] = [];
  const re = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```ts\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const code = m[2]
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''))
      // imports are for readers; the harness provides the names
      .filter((l) => !l.startsWith('import '))
      .join('\n');
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ id: `${relative(ROOT, file)}:${line}`, code });
  }
  return out;
}

const EXAMPLES = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'graph'))].flatMap(examplesOf);

// Every export of the package is in scope, as if the example had imported what it uses from 'lazylens'.
const HEADER = `import * as tf from '@tensorflow/tfjs';
import * as lazylens from '../src/index.js';
const { ${Object.keys(lazylens).join(', ')} } = lazylens;
void tf;
export default async function run(): Promise<void> {
`;

describeBackends(
  'TSDoc @example blocks',
  () => {
    it('finds the examples', () => {
      expect(EXAMPLES.length).toBeGreaterThan(10);
    });
    it.each(EXAMPLES.map((e) => [e.id, e] as const))('%s', async (_id, e) => {
      mkdirSync(OUT, { recursive: true });
      const file = join(OUT, `${e.id.replace(/[^\w]/g, '_')}.ts`);
      writeFileSync(file, `${HEADER}${e.code}\n}\n`);
      const mod = (await import(pathToFileURL(file).href)) as { default: () => Promise<void> };
      // What an example prints (a whole plan, for some) is for its readers; shown only on failure.
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(args.map(String).join(' '));
      });
      try {
        await mod.default();
      } catch (err) {
        log.mockRestore();
        if (printed.length) console.log(printed.join('\n'));
        throw err;
      } finally {
        log.mockRestore();
      }
    });
  },
  WASM_ONLY,
);
