// Type-checked linting for every TypeScript file in the package.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'docs/site/**',
      'node_modules/**',
      'coverage/**',
      '.scratch/**',
      '.vitest-examples/**',
      'test-artifacts/**',
      '**/*.cjs',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Synchronous tensor reads block the thread and throw on webgpu in Node (tfjs reads through an
    // OffscreenCanvas there): the library reads with await t.data() / t.array() instead.
    files: ['src/**/*.ts', 'graph/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['dataSync', 'arraySync', 'bufferSync'].map((property) => ({
          property,
          message: 'No synchronous tensor reads in the library: use await t.data() / t.array() or host data.',
        })),
      ],
    },
  },
);
