// Starts one of the programs: its bundle in dist/ when that is at least as new as every source it could contain
// (`npm ci` builds the bundles), else the TypeScript entry through tsx, so an edited source is never shadowed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['client', 'handlers', 'runtime'];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function launch(name, entry) {
  const bundle = `${root}dist/${name}.mjs`;
  const fresh =
    existsSync(bundle) &&
    statSync(bundle).mtimeMs >= Math.max(...SOURCE_DIRS.map((dir) => newestSource(`${root}${dir}`)));
  if (fresh) return import(pathToFileURL(bundle).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(`${root}${entry}`).href);
}
