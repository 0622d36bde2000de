#!/usr/bin/env node
// Bundles bomnipotent_client into dist/ (run by `npm ci` through "prepare", and by the test set-up), so that a
// client call starts in about 0.15 s instead of compiling TypeScript through tsx each time (about 0.8 s).
import { build } from 'esbuild';
import { URL, fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: repo,
  entryPoints: ['client/cli.ts'],
  outfile: 'dist/bomnipotent_client.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external', // dependencies load from node_modules as usual
  logLevel: 'warning',
});
