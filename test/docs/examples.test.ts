// Every `@example` in the public TSDoc runs here: an example that drifts from the code fails.
// Examples are meant to be copied: their imports are kept as written (`lazylens` resolves to this
// checkout's sources through vitest's alias), none may import a path into the repository or load a
// model other than a shipped one by its name, and none may be wider than the documentation site.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it, vi } from 'vitest';
import * as lazylens from '../../src/index.js';
import { shippedModelNames } from '../../src/model/resolveModel.js';
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
  /** The example's code without its import lines. */
  code: string;
  /** Its import lines, as written. */
  imports: string[];
}

/** The widest code line the documentation site shows without scrolling. */
const MAX_LINE = 100;

/** The fenced code of each `@example` in a file's doc comments. */
function examplesOf(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const out: Example[] = [];
  const re = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```ts\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const lines = m[2].split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
    const imports = lines.filter((l) => l.startsWith('import '));
    const code = lines.filter((l) => !l.startsWith('import ')).join('\n');
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ id: `${relative(ROOT, file)}:${line}`, code, imports });
  }
  return out;
}

const EXAMPLES = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'graph'))].flatMap(examplesOf);

/** The names an example's import lines bring into scope. */
function importedNames(imports: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const l of imports) {
    const star = /import\s+\*\s+as\s+(\w+)/.exec(l);
    if (star) names.add(star[1]);
    const list = /import\s+(?:type\s+)?\{([^}]*)\}/.exec(l);
    for (const part of list?.[1].split(',') ?? []) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name.replace(/^type\s+/, ''));
    }
  }
  return names;
}

/**
 * The example as a module: its imports as written; every export of the package it did not import is
 * in scope too (short examples name a class or two without an import line), and so is `tf`.
 */
function toModule(e: Example): string {
  const own = importedNames(e.imports);
  const given = Object.keys(lazylens).filter((n) => !own.has(n));
  return [
    ...e.imports,
    ...(own.has('tf') ? [] : ["import * as tf from '@tensorflow/tfjs';", 'void tf;']),
    "import * as lazylensForExamples from 'lazylens';",
    `const { ${given.join(', ')} } = lazylensForExamples;`,
    'export default async function run(): Promise<void> {',
    e.code,
    '}',
    '',
  ].join('\n');
}

describeBackends(
  'TSDoc @example blocks',
  () => {
    it('finds the examples, each one copyable as written', () => {
      expect(EXAMPLES.length).toBeGreaterThan(10);
      const shipped = shippedModelNames();
      expect(shipped).toContain('induction-mlp-2l');
      const problems: string[] = [];
      for (const e of EXAMPLES) {
        const all = [...e.imports, ...e.code.split('\n')];
        for (const [, from] of all.join('\n').matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)) {
          if (from.startsWith('.') || from.startsWith('/'))
            problems.push(`${e.id}: imports '${from}'; expected 'lazylens' or a dependency`);
        }
        for (const [, name] of e.code.matchAll(/fromPretrained\w*\(\s*'([^']+)'/g)) {
          if (!shipped.includes(name))
            problems.push(`${e.id}: loads '${name}'; expected a shipped model (${shipped.join(', ')})`);
        }
        if (/test\/fixtures/.test(e.code)) problems.push(`${e.id}: uses a test fixture`);
        all.forEach((l, i) => {
          if (l.length > MAX_LINE)
            problems.push(
              `${e.id}: a line is ${l.length} characters (${i + 1}); expected at most ${MAX_LINE}`,
            );
        });
      }
      expect(problems).toEqual([]);
    });
    it.each(EXAMPLES.map((e) => [e.id, e] as const))('%s', async (_id, e) => {
      mkdirSync(OUT, { recursive: true });
      const file = join(OUT, `${e.id.replace(/[^\w]/g, '_')}.ts`);
      writeFileSync(file, toModule(e));
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
