// Every ```ts block of the guides (docs/guides/*.md) and of README.md runs here, against the real
// package: its imports are kept as a user writes them (`lazylens` resolves to this checkout's
// sources through tsconfig.json's paths and vitest's alias). A guide
// that drifts from the code fails — at run time here, and at compile time in the type-check test.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { format } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { describeBackends, WASM_ONLY } from '../helpers/backends.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, '.vitest-examples', 'guides');
const GUIDES = join(ROOT, 'docs', 'guides');

/**
 * The shipped model is usable once its training script has written the model card
 * (LAZYLENS_GUIDES_SHIPPED=1 runs its blocks anyway, e.g. on a model still in training).
 */
const SHIPPED_READY =
  existsSync(join(ROOT, 'models', 'induction-2l', 'MODEL.md')) || process.env.LAZYLENS_GUIDES_SHIPPED === '1';
const SHIPPED_SKIP_REASON =
  'models/induction-2l/MODEL.md is absent: the shipped model is still being trained, so blocks that load it are skipped';

interface Block {
  /** `docs/guides/recipes.md:42` (file and line of the opening fence). */
  id: string;
  /** The block's code, imports included. */
  code: string;
  /** What the block prints, when the guide shows it: a ```text block right after `<!-- output -->`. */
  output?: string;
}

/** The ```ts blocks of a markdown file (other languages — sh, text — are not run). */
function blocksOf(file: string): Block[] {
  const text = readFileSync(file, 'utf8');
  const out: Block[] = [];
  const re = /^```ts[^\S\n]*\n([\s\S]*?)^```[^\S\n]*$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const line = text.slice(0, m.index).split('\n').length;
    const after = text.slice(m.index + m[0].length);
    const shown = /^\s*<!-- output -->\s*```text\n([\s\S]*?)\n```/.exec(after);
    out.push({ id: `${relative(ROOT, file)}:${line}`, code: m[1], output: shown?.[1] });
  }
  return out;
}

/** Where the generated module lives, relative to which the package's sources are imported. */

/**
 * The block as a module: import lines hoisted, the rest inside
 * an exported async function so top-level `await` and locals stay local.
 */
function toModule(code: string): string {
  const lines = code.split('\n');
  const imports: string[] = [];
  const body: string[] = [];
  let inImport = false;
  for (const l of lines) {
    if (inImport || /^import\s/.test(l)) {
      imports.push(l);
      inImport = !/from\s+['"][^'"]+['"];?\s*$/.test(l) && !/^import\s+['"]/.test(l);
    } else {
      body.push(l);
    }
  }
  return `${imports.join('\n')}\nexport default async function run(): Promise<void> {\n${body.join('\n')}\n}\n`;
}

const FILES = [
  ...readdirSync(GUIDES)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(GUIDES, f)),
  join(ROOT, 'README.md'),
];
const BLOCKS = FILES.flatMap(blocksOf);
const usesShipped = (b: Block): boolean => b.code.includes("'induction-2l'");

function moduleFile(b: Block): string {
  return join(OUT, `${b.id.replace(/[^\w]/g, '_')}.ts`);
}

function writeModules(): void {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const b of BLOCKS) writeFileSync(moduleFile(b), toModule(b.code));
}

it('finds the guides and their code', () => {
  for (const guide of [
    'getting-started',
    'lazy-graph',
    'recipes',
    'loading-checkpoints',
    'coming-from-transformerlens',
  ]) {
    expect(FILES.map((f) => relative(GUIDES, f))).toContain(`${guide}.md`);
  }
  expect(BLOCKS.length).toBeGreaterThan(15);
  // Code (any language) fits the documentation site's width; a program's shown output may not.
  const wide: string[] = [];
  for (const file of FILES) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
      if (text.slice(0, m.index).trimEnd().endsWith('<!-- output -->')) continue;
      const first = text.slice(0, m.index).split('\n').length + 1;
      m[1].split('\n').forEach((l, i) => {
        if (l.length > 100) wide.push(`${relative(ROOT, file)}:${first + i} is ${l.length} characters`);
      });
    }
  }
  expect(wide, 'code lines wider than 100 characters').toEqual([]);
  // Every import in a block names the package (or a dependency), never a path into the repo.
  for (const b of BLOCKS) {
    for (const [, from] of b.code.matchAll(/from\s+'([^']+)'/g)) {
      expect(from, `${b.id} imports '${from}'`).not.toMatch(/^\./);
    }
  }
});

it('type-checks every block against the sources', () => {
  writeModules();
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('tsconfig.json did not parse');
  const program = ts.createProgram(BLOCKS.map(moduleFile), { ...parsed.options, noEmit: true });
  const generated = new Set(BLOCKS.map((b) => moduleFile(b)));
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && generated.has(d.file.fileName))
    .map((d) => {
      const block = BLOCKS.find((b) => moduleFile(b) === d.file?.fileName);
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      // The generated module has the imports first, then a one-line function header.
      return `${block?.id} (module line ${line + 1}): ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  expect(problems).toEqual([]);
}, 120_000);

describeBackends(
  'guide code blocks',
  () => {
    // The blocks print what a reader would see: keep the test output quiet, and keep what they
    // print to compare with the output a guide shows.
    let printed: string[] = [];
    beforeEach(() => {
      printed = [];
      vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
        printed.push(format(...args));
      });
      vi.spyOn(console, 'table').mockImplementation(() => undefined);
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });
    for (const b of BLOCKS) {
      const skip = usesShipped(b) && !SHIPPED_READY;
      it.skipIf(skip)(skip ? `${b.id} (skipped: ${SHIPPED_SKIP_REASON})` : b.id, async () => {
        const file = moduleFile(b);
        mkdirSync(OUT, { recursive: true });
        writeFileSync(file, toModule(b.code));
        const mod = (await import(pathToFileURL(file).href)) as { default: () => Promise<void> };
        await mod.default();
        if (b.output !== undefined) expect(printed.join('\n').trim()).toBe(b.output.trim());
      });
    }
  },
  WASM_ONLY,
);
