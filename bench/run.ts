/**
 * `npm run bench`: every benchmark in turn (not tests: timings on a shared machine are noisy, so
 * each reports ratios measured side by side in one run). Pass names to run some: `npm run bench -- graph`.
 */
const ALL = ['forward', 'graph', 'cache', 'stream', 'circuits'] as const;

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : ALL) {
  console.log(`\n## bench/${name}.ts`);
  const mod = (await import(`./${name}.ts`)) as { main: () => Promise<void> };
  await mod.main();
}
