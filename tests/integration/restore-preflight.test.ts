// What a restore checks before it starts (ownership, CREATEDB, sessions it may not end), and what it does when the
// session holding its lock dies mid-way: real PostgreSQL roles, real sessions, a real pg_terminate_backend.
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { backupLockName } from '../../handlers/backup/lock';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { AUDIT_LOG } from '../../runtime/executor/catalog';
import {
  adminQuery,
  adminUrl,
  createTestDatabase,
  uniqueDatabaseName,
  type TestDatabase,
} from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase } from '../support/restore-snapshot';
import { failureOf } from '../support/rejection';

const failure = failureOf;

function roleUrl(role: string, database: string): string {
  const url = new URL(adminUrl());
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
}

async function copiesOf(database: string): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
    [`${database}\\_%`],
  );
  return rows.map((r) => r.datname);
}

let database: TestDatabase;
let directory: string;
const worlds: RealRestoreWorld[] = [];
const role = uniqueDatabaseName('bpf');

beforeAll(async () => {
  await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB NOSUPERUSER`);
});
afterAll(async () => {
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
});
beforeEach(async () => {
  database = await createTestDatabase('bt_pf');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-preflight-'));
});
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
  await database.drop();
  await rm(directory, { recursive: true, force: true });
});

async function worldAs(url: string): Promise<RealRestoreWorld> {
  const world = createRealContext({ url, directory });
  worlds.push(world);
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE IF NOT EXISTS docs (id int PRIMARY KEY, title text)`);
  await world.db.query(`INSERT INTO docs VALUES (1, 'in the backup') ON CONFLICT DO NOTHING`);
  await makeBackup(world, new Date(Date.UTC(2026, 0, 2)));
  await world.db.query(`INSERT INTO docs VALUES (2, 'added after the backup')`);
  return world;
}

describe('restore preflight', () => {
  it('refuses a role that may create databases but does not own this one, in the dry run and before any work', async () => {
    await adminQuery(`GRANT ALL ON SCHEMA public TO "${role}"`, [], database.name);
    // The backup is made by the superuser; the restore runs as the role that does not own the database.
    await worldAs(database.url);
    const world = createRealContext({ url: roleUrl(role, database.name), directory });
    worlds.push(world);
    const before = await snapshotDatabase(database.url, database.name);

    const dry = await failure(restoreBackup({ user: 'a', dryRun: true }, world.ctx));
    expect(dry.code).toBe('BACKUP.MISSING_PRIVILEGE');
    expect(dry.message).toContain(`does not own the database '${database.name}'`);

    const real = await failure(restoreBackup({ user: 'a' }, world.ctx));
    expect(real.code).toBe('BACKUP.MISSING_PRIVILEGE');
    expect(world.logs.join('\n')).not.toContain('scratch database');
    expect(await copiesOf(database.name)).toEqual([]);
    expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
  });

  it("names a session it may not end (a superuser's psql) up front, in the dry run too", async () => {
    await adminQuery(`ALTER DATABASE "${database.name}" OWNER TO "${role}"`);
    await adminQuery(`ALTER SCHEMA public OWNER TO "${role}"`, [], database.name);
    const world = await worldAs(roleUrl(role, database.name));
    const superuser = new pg.Client({ connectionString: database.url });
    superuser.on('error', () => {});
    await superuser.connect();
    try {
      const dry = await failure(restoreBackup({ user: 'a', dryRun: true }, world.ctx));
      expect(dry.code).toBe('BACKUP.SESSIONS_IN_THE_WAY');
      // The superuser's name is the one the run's cluster has (root on the shared cluster, postgres on a private one).
      const superuserName = decodeURIComponent(new URL(database.url).username);
      expect(dry.message).toContain(`may not end are connected to it (${superuserName} (1))`);
      const real = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(real.code).toBe('BACKUP.SESSIONS_IN_THE_WAY');
      expect(await copiesOf(database.name)).toEqual([]);
    } finally {
      await superuser.end().catch(() => {});
    }
    // Without that session, the same role restores (it owns the database and holds CREATEDB).
    const result = await restoreBackup({ user: 'a', dryRun: true }, world.ctx);
    expect(result.dryRun).toBe(true);
  });
});

describe('losing the lock mid-restore', () => {
  it('stops before the swap when the lock holder is terminated: the old data stays, nothing is left, one swap at most', async () => {
    const world = await worldAs(database.url);
    const before = await snapshotDatabase(database.url, database.name);
    const lockName = backupLockName(database.name);
    const terminated = await restoreBackup({ user: 'a' }, world.ctx, {
      reached: async (phase) => {
        if (phase !== 'scratch') return;
        const { rows } = await adminQuery<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objid::bigint = (hashtext($1)::bigint & 4294967295)`,
          [lockName],
        );
        expect(rows).toEqual([{ ended: true }]);
      },
    }).catch((error: unknown) => error);

    expect(terminated).toMatchObject({ code: 'BACKUP.LOCK_LOST' });
    expect((terminated as Error).message).toContain('did not happen');
    expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
    expect(await copiesOf(database.name)).toEqual([]);
    const audit = (await readFile(join(directory, AUDIT_LOG), 'utf8')).trim().split('\n');
    expect(audit.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['failed']);

    // The lock is free again, and a restore that keeps it swaps as usual.
    await restoreBackup({ user: 'a' }, world.ctx);
    const { rows } = await world.db.query<{ title: string }>('SELECT title FROM docs ORDER BY id');
    expect(rows.map((r) => r.title)).toEqual(['in the backup']);
  });
});
