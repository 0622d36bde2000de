// The temporary recovery instance failing to start, caused for real: another PostgreSQL's live postmaster holds the
// socket's lock file in the recovery folder (the lock file names the pid of the world cluster's own postmaster, a live
// process of the same OS user as the instance), so the instance's postmaster refuses to start with PostgreSQL's own
// FATAL. The restore to a point ends with one line naming it, the database keeps every row it had, the scratch
// database is gone, and neither the recovery folder nor a PostgreSQL running from it is left behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import { recoveryDirPrefix } from '../../runtime/pitr/orphans';
import { startPitrRestoreWorld, type PitrWorld } from '../support/pitr-world';
import type { RealRestoreWorld } from '../support/restore-real';

let world: PitrWorld;
let real: RealRestoreWorld;

async function fresh<T extends pg.QueryResultRow>(sql: string, database = 'app'): Promise<T[]> {
  const client = new pg.Client({ connectionString: world.cluster.superuserUrl(database) });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const rowsNow = async () => (await fresh<{ n: number }>('SELECT n FROM writes ORDER BY n')).map((r) => r.n);
const databases = async () =>
  (await fresh<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1', 'postgres')).map(
    (r) => r.datname,
  );
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** This process's recovery folders in the temp directory (mkdtemp's six characters after the prefix). */
const recoveryFolders = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith(basename(recoveryDirPrefix())));

/**
 * Puts the socket lock file of a live postmaster into every recovery folder the moment it is made (before the
 * base backup is even unpacked into it), as a second PostgreSQL on the same socket would.
 */
function clashOnSocket(postmasterPid: number): FSWatcher {
  const prefix = basename(recoveryDirPrefix());
  return watch(tmpdir(), (_event, name) => {
    if (!name?.startsWith(prefix)) return;
    try {
      const lock = join(tmpdir(), name, '.s.PGSQL.5432.lock');
      writeFileSync(lock, `${postmasterPid}\n${join(tmpdir(), name)}\n`, { flag: 'wx' });
    } catch {
      // already there, or the folder is gone again
    }
  });
}

beforeAll(async () => {
  ({ world, real } = await startPitrRestoreWorld());
  for (let n = 1; n <= 20; n++) await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
});

afterAll(async () => {
  await real?.close();
  await world?.close();
});

describe('restore to a point when the temporary instance cannot start', () => {
  it('ends with the instance’s own reason, keeps the data, and leaves no folder, instance or scratch database', async () => {
    const target = new Date(Date.now() - 1).toISOString();
    await world.coveredUntil(target);
    await world.query('INSERT INTO writes (n) VALUES (21)'); // after the target: the live database has it
    const before = await rowsNow();
    const databasesBefore = await databases();
    const [pid] = await fresh<{ pid: string }>(
      `SELECT split_part(pg_read_file('postmaster.pid'), E'\\n', 1) AS pid`,
    );
    const postmasterPid = Number(pid!.pid);
    expect(postmasterPid).toBeGreaterThan(0);
    expect(recoveryFolders()).toEqual([]);

    const watcher = clashOnSocket(postmasterPid);
    const failed = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx)
      .then(() => null)
      .catch((e: unknown) => e as Error)
      .finally(() => watcher.close());

    expect(failed).toBeInstanceOf(Error);
    expect(failed).toMatchObject({
      code: 'BACKUP.RESTORE_FAILED',
      details: { causeCode: 'PITR.RECOVERY_FAILED' },
    });
    const line = new RegExp(
      `^Restoring 'pitr/base/[^']+' failed: The temporary PostgreSQL instance did not start: .*FATAL: {1,2}lock file ` +
        `"(${escaped(tmpdir())}/bomnipotent-pitr-${process.pid}-\\w{6})/\\.s\\.PGSQL\\.5432\\.lock" already exists\\. ` +
        `The database 'app' was not touched\\.$`,
    );
    expect(failed!.message).toMatch(line);
    expect(existsSync(line.exec(failed!.message)![1]!)).toBe(false);
    expect(await rowsNow()).toEqual(before);
    expect(before).toContain(21);
    expect(await databases()).toEqual(databasesBefore);
    expect(recoveryFolders()).toEqual([]);
    // No PostgreSQL runs from a recovery folder of this process.
    const running = (() => {
      try {
        return execFileSync('pgrep', ['-f', recoveryDirPrefix()], { encoding: 'utf8' });
      } catch {
        return '';
      }
    })();
    expect(running).toBe('');
    // The world's own cluster, whose pid the lock file named, was not touched.
    expect(await fresh<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('restores to the same point once nothing holds the socket', async () => {
    const target = new Date(Date.now() - 1).toISOString();
    await world.coveredUntil(target);
    await fresh('INSERT INTO writes (n) VALUES (22)');
    await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx);
    const rows = await rowsNow();
    expect(rows).toContain(21);
    expect(rows).not.toContain(22);
    expect(recoveryFolders()).toEqual([]);
  });
});
