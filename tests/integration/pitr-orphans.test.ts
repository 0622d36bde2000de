// A server SIGKILLed during a restore to a point leaves its temporary recovery instance running (pg_ctl started it,
// so it outlives the server) in a folder named for the dead server's pid. The next start stops that instance and
// removes the folder; a folder of a live process (a restore going on in another server) is left alone.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOVERY_DIR_PREFIX, recoveryDirPrefix, sweepOrphanedRecoveries } from '../../runtime/pitr/orphans';
import { asPostgres, serverBinaries } from '../../runtime/pitr/instance';
import { recordingLogger } from '../support/recording-logger';

const MAJOR = 15;
// In /tmp itself: the tests' own temp root is private to root, and as root the instance runs as postgres.
const root = mkdtempSync(join('/tmp', 'pitr-orphans-'));
chmodSync(root, 0o711);
afterAll(() => {
  spawnSync('pkill', ['-f', root]);
  rmSync(root, { recursive: true, force: true });
});

/** Running, not a zombie left for a parent that does not reap it (the postmaster's parent is gone). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A pid that certainly belonged to a process that has ended. */
function deadPid(): number {
  return spawnSync('true').pid;
}

/** A real PostgreSQL running from `<folder>/data` on a socket in the folder, as a recovery instance does. */
async function startInstance(folder: string): Promise<number> {
  const data = join(folder, 'data');
  mkdirSync(data, { mode: 0o700 });
  const ids = await asPostgres();
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  if (ids) {
    chownSync(folder, ids.uid, ids.gid);
    chownSync(data, ids.uid, ids.gid);
  }
  const bin = serverBinaries(MAJOR);
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '--no-sync'], { ...as });
  expect(init.status, String(init.stderr)).toBe(0);
  const options = `-c listen_addresses='' -c unix_socket_directories='${folder}' -c fsync=off`;
  const log = join(folder, 'instance.log');
  const start = spawnSync(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-o', options, '-w', 'start'], {
    ...as,
  });
  expect(start.status, String(start.stderr)).toBe(0);
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('recovery instances left by a killed server', () => {
  it('stops the instance of a dead server and removes its folder; leaves a live process folder alone', async () => {
    const orphan = join(root, `${RECOVERY_DIR_PREFIX}${deadPid()}-Ab3dE9`);
    mkdirSync(orphan);
    const postmaster = await startInstance(orphan);
    expect(running(postmaster)).toBe(true);
    // This process's own folder, made the way a restore makes it: a restore in progress.
    const own = mkdtempSync(recoveryDirPrefix(root));
    expect(basename(own).startsWith(`${RECOVERY_DIR_PREFIX}${process.pid}-`)).toBe(true);
    const stranger = join(root, `${RECOVERY_DIR_PREFIX}not-a-pid`);
    mkdirSync(stranger);

    const logger = recordingLogger();
    expect(await sweepOrphanedRecoveries(logger, root)).toBe(1);

    expect(existsSync(orphan)).toBe(false);
    expect(running(postmaster)).toBe(false);
    expect(existsSync(own)).toBe(true);
    expect(existsSync(stranger)).toBe(true);
    expect(logger.lines.join('\n')).toMatch(
      /Removed .*bomnipotent-pitr-\d+-Ab3dE9.* is gone; its PostgreSQL was stopped/,
    );
  });

  it('removes a dead server folder that holds no running instance (killed before the instance started)', async () => {
    const orphan = join(root, `${RECOVERY_DIR_PREFIX}${deadPid()}-Zz9yX1`);
    mkdirSync(join(orphan, 'wal'), { recursive: true });
    const logger = recordingLogger();
    expect(await sweepOrphanedRecoveries(logger, root)).toBe(1);
    expect(existsSync(orphan)).toBe(false);
    expect(logger.lines.join('\n')).not.toMatch(/its PostgreSQL was stopped/);
  });
});
