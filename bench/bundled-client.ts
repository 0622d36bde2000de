// Diagnostic only: the client bundled to plain JavaScript with esbuild (tsx's own dependency), to show how much of a
// client call is tsx compiling TypeScript at start-up. Skipped when esbuild is not there.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './processes';

export async function bundleClient(repo: string, outDir: string): Promise<string | null> {
  const esbuild = join(repo, 'node_modules', '.bin', 'esbuild');
  if (!existsSync(esbuild)) return null;
  const outfile = join(outDir, 'bomnipotent_client.bundle.mjs');
  const result = await run(esbuild, [
    join(repo, 'client', 'cli.ts'),
    '--bundle',
    '--platform=node',
    '--format=esm',
    '--target=node20',
    `--outfile=${outfile}`,
    // CommonJS dependencies (commander) call require(): give the ESM bundle one.
    "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  ]);
  return result.code === 0 ? outfile : null;
}
