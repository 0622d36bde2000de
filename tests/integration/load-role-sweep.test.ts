// A restore SIGKILLed while psql loads as its temporary role `bomnipotent_load_<random>` leaves that role behind; the
// sweep at start drops it, and keeps the role of a live process (this host or another replica) and roles not ours.
// The roles name this suite's database, so that the sweeps of other suites' servers and sidecars leave them alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverInterruptedRestore } from '../../handlers/backup/recover';
import { currentLoadOwner, ownerComment } from '../../runtime/executor/load-owner';
import { sweepLeftoverLoadRoles } from '../../runtime/startup/load-role-sweep';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { recordingLogger } from '../support/recording-logger';
import {
  beforeCompletionMarker,
  createRealContext,
  makeBackup,
  migrateToLatest,
  rewriteBackup,
} from '../support/restore-real';
import { until } from '../support/until';

let database: TestDatabase;
let directory: string;
let child: ChildProcess | undefined;
const owner = `blr_owner_${process.pid}_${Date.now().toString(36)}`;
const tag = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, '0');
const made: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('blr');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-load-role-sweep-'));
  // A superuser db_url and a database of a non-superuser owner: the load logs in as a temporary role.
  await adminQuery(`CREATE ROLE "${owner}" NOLOGIN`);
  await adminQuery(`ALTER DATABASE "${database.name}" OWNER TO "${owner}"`);
  const world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  const backup = await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
  await world.close();
  await rewriteBackup(directory, backup.file, (sql) => beforeCompletionMarker(sql, 'SELECT pg_sleep(60);'));
});

afterAll(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  for (const name of made) await adminQuery(`DROP ROLE IF EXISTS "${name}"`);
  await database.drop();
  await adminQuery(`DROP ROLE IF EXISTS "${owner}"`);
  await rm(directory, { recursive: true, force: true });
});

async function exists(name: string): Promise<boolean> {
  const { rows } = await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  return rows.length > 0;
}

/** A load role as the named maker would have made it. */
async function leftover(suffix: string, comment: string | null, validUntil: string): Promise<string> {
  const name = `bomnipotent_load_${tag}${suffix}`;
  made.push(name);
  await adminQuery(`CREATE ROLE "${name}" LOGIN VALID UNTIL '${validUntil}'`);
  await adminQuery(`GRANT "${owner}" TO "${name}"`);
  if (comment !== null) await adminQuery(`COMMENT ON ROLE "${name}" IS '${comment}'`);
  return name;
}

/** Kills the restore child's process group (it, psql and zstd) as a container kill would. */
function killChild(): Promise<void> {
  const proc = child!;
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    process.kill(-proc.pid!, 'SIGKILL');
  });
}

describe('the sweep of temporary load roles at start', () => {
  it('drops the role of a restore killed with SIGKILL mid-load; keeps live and foreign ones', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/restore-child.ts'], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
      env: { ...process.env, RESTORE_CHILD_DB_URL: database.url, RESTORE_CHILD_DIR: directory },
    });
    const killed = await until('psql to load as a temporary role', async () => {
      const { rows } = await adminQuery<{ usename: string }>(
        `SELECT usename FROM pg_stat_activity WHERE datname LIKE $1 AND usename LIKE 'bomnipotent\\_load\\_%'
           AND query LIKE '%pg_sleep%' AND state = 'active'`,
        [`${database.name}\\_restore\\_%`],
      );
      return rows[0]?.usename;
    });
    const { rows: comments } = await adminQuery<{ c: string }>(
      `SELECT shobj_description(oid, 'pg_authid') AS c FROM pg_roles WHERE rolname = $1`,
      [killed],
    );
    expect(JSON.parse(comments[0]!.c)).toMatchObject({
      host: hostname(),
      pid: child.pid,
      database: database.name,
    });
    await killChild();
    expect(await exists(killed)).toBe(true); // what the kill leaves behind

    const me = currentLoadOwner();
    const future = new Date(Date.now() + 3600_000).toISOString();
    const past = new Date(Date.now() - 3600_000).toISOString();
    // A replica on this host loading right now (this test's own live process stands for it).
    const live = await leftover(
      'a0000001',
      ownerComment({ ...me, pid: process.pid, database: database.name }),
      future,
    );
    // A replica on another host: its pid means nothing here, so it stays while valid.
    const foreign = await leftover(
      'a0000002',
      ownerComment({ ...me, host: 'replica-b', pid: 1, database: database.name }),
      future,
    );
    // Another host's role long expired, nobody logged in: its maker cannot be loading with it any more.
    const expired = await leftover(
      'a0000003',
      ownerComment({ ...me, host: 'replica-b', pid: 1, database: database.name }),
      past,
    );
    // Not our exact name pattern: never looked at, even expired.
    const notOurs = `bomnipotent_load_${tag}x`;
    made.push(notOurs);
    await adminQuery(`CREATE ROLE "${notOurs}" VALID UNTIL '${past}'`);

    // Start-up: recovery drops the scratch copy, then the sweep (as prepareDatabase runs them).
    const world = createRealContext({ url: database.url, directory });
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const logger = recordingLogger();
    try {
      await until('the killed restore to be recovered', async () => {
        const report = await recoverInterruptedRestore(world.ctx);
        return report.skipped ? undefined : report;
      });
      const dropped = await sweepLeftoverLoadRoles(pool, logger);
      expect(dropped).toEqual(expect.arrayContaining([killed, expired]));
      expect(dropped).not.toContain(live);
      expect(dropped).not.toContain(foreign);
    } finally {
      await pool.end();
      await world.close();
    }
    expect(await exists(killed)).toBe(false);
    expect(await exists(expired)).toBe(false);
    expect(await exists(live)).toBe(true);
    expect(await exists(foreign)).toBe(true);
    expect(await exists(notOurs)).toBe(true);
    expect(logger.lines.join('\n')).toContain(
      `Dropped ${killed}, the temporary login of a restore or rehearsal`,
    );
    expect(logger.lines.join('\n')).toContain(`its process (pid ${child.pid}) is gone`);
  });
});
