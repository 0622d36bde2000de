// Temporary recovery instances left by a server that was killed during a restore to a point. Each restore's folder
// is named for the process that made it (`bomnipotent-pitr-<pid>-XXXXXX` in the temp directory); the instance runs
// under pg_ctl and outlives a SIGKILLed server, holding its memory and the folder's disk. At start the server stops
// every such instance whose owner is gone and removes its folder; a folder of a live process is never touched.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../handlers/ports/logger';
import { alive } from '../startup/file-checks';
import { asPostgres, serverBinaries } from './instance';

const run = promisify(execFile);
export const RECOVERY_DIR_PREFIX = 'bomnipotent-pitr-';

/** The prefix of this process's recovery folders (mkdtemp adds six characters). */
export function recoveryDirPrefix(root: string = tmpdir()): string {
  return join(root, `${RECOVERY_DIR_PREFIX}${process.pid}-`);
}

/** Stops the instance in `folder` (if one runs there) with the server programs of its own major. */
async function stopInstance(folder: string): Promise<boolean> {
  const data = join(folder, 'data');
  if (!existsSync(join(data, 'postmaster.pid'))) return false;
  const major = Number.parseInt(readFileSync(join(data, 'PG_VERSION'), 'utf8'), 10);
  const ids = await asPostgres();
  await run(join(serverBinaries(major), 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], {
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
  }).catch(() => {});
  return true;
}

/** Stops and removes the recovery instances of processes that are gone; returns how many folders were removed. */
export async function sweepOrphanedRecoveries(logger: Logger, root: string = tmpdir()): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    // Only "<prefix><pid>-<mkdtemp suffix>": folders named otherwise are not ours to judge.
    const match = /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(RECOVERY_DIR_PREFIX.length));
    if (!name.startsWith(RECOVERY_DIR_PREFIX) || !match) continue;
    const pid = Number(match[1]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    const folder = join(root, name);
    try {
      const stopped = await stopInstance(folder);
      rmSync(folder, { recursive: true, force: true });
      removed += 1;
      logger.warn(
        `Removed ${folder}, the temporary recovery instance of a restore to a point whose server (pid ${pid}) is gone${stopped ? '; its PostgreSQL was stopped' : ''}. The database was not changed by it.`,
      );
    } catch (error) {
      logger.warn(`Could not remove the leftover recovery folder ${folder}: ${(error as Error).message}`);
    }
  }
  return removed;
}
