import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

export default defineConfig({
  // `import … from 'lazylens'` resolves to this checkout's sources, as tsconfig.json's `paths` make
  // it for tsc and tsx: tests and guides import the package the way a user's script does.
  resolve: {
    alias: [
      { find: /^lazylens\/graph$/, replacement: here('./graph/index.ts') },
      { find: /^lazylens$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    globalSetup: ['test/helpers/webgpuProbe.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: '.vitest-reports/results.json' }]],
  },
});
