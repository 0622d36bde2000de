// What was measured: the commit, uncommitted changes, whether each program starts from its dist/ bundle or from the
// sources through tsx (bin/launch.js picks the bundle only when it is at least as new as every source), and the
// default of verify_after_backup.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { backupTaskSchema } from '../runtime/config/schema';

const SOURCE_DIRS = ['client', 'handlers', 'runtime'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The same rule as bin/launch.js, checked when a program is about to start. */
export function entryOf(repo: string, program: string): 'bundle' | 'tsx' {
  const bundle = join(repo, 'dist', `${program}.mjs`);
  if (!existsSync(bundle)) return 'tsx';
  const newest = Math.max(...SOURCE_DIRS.map((dir) => newestSource(join(repo, dir))));
  return statSync(bundle).mtimeMs >= newest ? 'bundle' : 'tsx';
}

export function describeCheckout(repo: string): {
  commit: string;
  dirty: boolean;
  verifyAfterBackupDefault: boolean;
} {
  const git = (args: string[]) => {
    const result = spawnSync('git', args, { cwd: repo, encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : '';
  };
  const task = backupTaskSchema.parse({ name: 'database_backup', directory: '/unused' });
  return {
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    verifyAfterBackupDefault: task.verify_after_backup,
  };
}
