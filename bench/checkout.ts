// What was measured: the commit, uncommitted changes, and how bin/bomnipotent_client.js will start the client.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function describeCheckout(repo: string): { commit: string; dirty: boolean; client: string } {
  const git = (args: string[]) => {
    const result = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : '';
  };
  const bundle = join(repo, 'dist', 'bomnipotent_client.mjs');
  return {
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    client: existsSync(bundle)
      ? `dist/bomnipotent_client.mjs present (built ${statSync(bundle).mtime.toISOString()})`
      : 'TypeScript through tsx (no dist/ bundle)',
  };
}
