/**
 * `npm run bench`: every benchmark in turn (not tests: timings on a shared machine are noisy, so
 * each reports ratios measured side by side in one run). Pass names to run some, and flags to size
 * them: `npm run bench -- forward dla --prompts 100 --repeats 1` (flags: bench/common.ts).
 */
import { parseArgs } from './common.js';

const ALL = [
  'threads',
  'copies',
  'elementwise',
  'forward',
  'demand',
  'dla',
  'graph',
  'cache',
  'stream',
  'circuits',
  'patching',
  'generate',
] as const;

const { names } = parseArgs(process.argv.slice(2));
for (const name of names.length ? names : ALL) {
  if (!(ALL as readonly string[]).includes(name))
    throw new Error(`bench '${name}': unknown; expected one of ${ALL.join(', ')}`);
  console.log(`\n## bench/${name}.ts`);
  const mod = (await import(`./${name}.ts`)) as { main: () => Promise<unknown> };
  await mod.main();
}
