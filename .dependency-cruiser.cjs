// Keeps the engine independent of the library built on it (DESIGN.md: src/ imports graph/, never the reverse).
module.exports = {
  forbidden: [
    { name: 'graph-is-independent', severity: 'error', from: { path: '^graph/' }, to: { path: '^src/' } },
    { name: 'no-test-imports', severity: 'error', from: { path: '^(src|graph)/' }, to: { path: '^test/' } },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
