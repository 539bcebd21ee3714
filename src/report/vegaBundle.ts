/**
 * The charting library inlined into every report: Vega and Vega-Lite's minified UMD builds,
 * read from node_modules once per process. Reports render with them offline (no network).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The folder of an installed package, found from its main entry (its exports hide package.json). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (!existsSync(join(dir, 'package.json')) || !isPackage(join(dir, 'package.json'), name)) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`Cannot find the folder of the '${name}' package.`);
    dir = up;
  }
  return dir;
}

function isPackage(file: string, name: string): boolean {
  return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === name;
}

/** `</script` inside inlined code would end the element early; `<\/script` means the same in JS. */
function scriptSafe(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

let cached: string | undefined;

/** `vega.min.js` then `vega-lite.min.js`, each in its own `<script>` element. */
export function vegaScripts(): string {
  cached ??= ['vega/build/vega.min.js', 'vega-lite/build/vega-lite.min.js']
    .map((rel) => {
      const [pkg, ...rest] = rel.split('/');
      const code = readFileSync(join(packageDir(pkg), ...rest), 'utf8');
      return `<script>${scriptSafe(code)}</script>`;
    })
    .join('\n');
  return cached;
}
