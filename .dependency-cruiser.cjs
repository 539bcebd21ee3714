// The house rules for imports. graph/ is the engine and never imports src/. Inside src/ every
// folder is a floor: a room may import its own floor's rooms and anything below, never above,
// so following an import always goes down. Floors, lowest first; names on one floor are siblings
// that must not import each other either.
const FLOORS = [
  ['util'],
  ['errors.ts'],
  ['core'],
  ['backend'],
  ['loading', 'weights'],
  ['cache'],
  ['model'],
  ['stream', 'circuits', 'patching'],
  ['analysis'],
  ['report'],
  ['cli'],
  ['index.ts'],
];

const pathOf = (room) => (room.endsWith('.ts') ? `^src/${room.replace('.', '\\.')}$` : `^src/${room}/`);
const anyOf = (rooms) => `(${rooms.map(pathOf).join('|')})`;

const upward = FLOORS.flatMap((floor, i) => {
  const above = FLOORS.slice(i + 1).flat();
  return floor.map((room) => {
    const siblings = floor.filter((r) => r !== room);
    return {
      name: `no-upward-import-from-${room.replace('.ts', '')}`,
      comment: `src/${room} sits on floor ${i}: it may import only floors below it or itself.`,
      severity: 'error',
      from: { path: pathOf(room) },
      to: { path: anyOf([...above, ...siblings]) },
    };
  });
}).filter((rule) => rule.to.path !== '()');

module.exports = {
  forbidden: [
    { name: 'graph-is-independent', severity: 'error', from: { path: '^graph/' }, to: { path: '^src/' } },
    { name: 'no-test-imports', severity: 'error', from: { path: '^(src|graph)/' }, to: { path: '^test/' } },
    // Type-only cycles vanish at run time (a config type and the checks on it may name each other).
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'every-src-room-has-a-floor',
      comment: 'A new folder in src/ must be given a floor in FLOORS above.',
      severity: 'error',
      from: { path: '^src/', pathNot: anyOf(FLOORS.flat()) },
      to: {},
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
