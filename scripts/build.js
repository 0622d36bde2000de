#!/usr/bin/env node
// Bundles the three programs into dist/ (run by `npm ci` through "prepare", and by `npm run build`). From a bundle a
// client call starts in ~0.3 s instead of ~0.8 s, and the server needs ~70 MB instead of ~100 MB (no TypeScript
// loader in the process). bin/launch.js falls back to the sources through tsx whenever they are newer.
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

export const ENTRIES = {
  bomnipotent_client: 'client/cli.ts',
  bomnipotent_server: 'runtime/node.ts',
  bomnipotent_executor: 'runtime/sidecar/main.ts',
};

const repo = fileURLToPath(new URL('..', import.meta.url));

await Promise.all(
  Object.entries(ENTRIES).map(([name, entry]) =>
    build({
      absWorkingDir: repo,
      entryPoints: [entry],
      outfile: `dist/${name}.mjs`,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external', // dependencies load from node_modules as usual
      logLevel: 'warning',
    }),
  ),
);
