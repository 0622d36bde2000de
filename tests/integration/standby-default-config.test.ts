// The instant restore on a cluster with PostgreSQL's default settings (autovacuum on, default naptime), not the
// shared test cluster that turns autovacuum off: autovacuum visits the standby although it refuses connections, and
// statistics are reset by pg_stat_reset() and by a crash, VACUUM freezes pg_database in place; none of that may cost
// the standby. What does: an UPDATE that keeps every row count, made behind the server's back (letting a session in
// takes an ALTER DATABASE, which changes the standby's seal), or during the rehearsal before its check.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standbyName } from '../../handlers/backup/database-names';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { until } from '../support/until';

const DATABASE = 'bomnipotent_defaults';
let cluster: PrivateCluster;
let directory: string;
let world: RealRestoreWorld;
let backupSnapshot: DatabaseSnapshot;

async function superuser<T extends pg.QueryResultRow>(sql: string, database = 'postgres') {
  const client = new pg.Client({ connectionString: cluster.superuserUrl(database) });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Transactions PostgreSQL counted in the standby: only autovacuum can add to them while it refuses connections. */
async function standbyCommits(): Promise<number> {
  const rows = await superuser<{ n: string }>(
    `SELECT coalesce(xact_commit, 0)::text AS n FROM pg_stat_database WHERE datname = '${standbyName(DATABASE)}'`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Opens the standby as someone with the superuser's password would, runs sql, and shuts it again. */
async function changeStandby(sql: string): Promise<void> {
  const standby = standbyName(DATABASE);
  await superuser(`ALTER DATABASE "${standby}" ALLOW_CONNECTIONS true`);
  await superuser(sql, standby);
  await superuser(`ALTER DATABASE "${standby}" ALLOW_CONNECTIONS false`);
}

const snapshot = () => snapshotDatabase(cluster.superuserUrl(), DATABASE);

beforeAll(async () => {
  cluster = await startPrivateCluster(randomBytes(12).toString('hex'));
  await superuser(`CREATE DATABASE ${DATABASE}`);
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-defaults-'));
  world = createRealContext({ url: cluster.superuserUrl(DATABASE), directory });
  world.settings.rehearse = true;
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 5000) g`);
  await makeBackup(world, new Date(Date.now() - 60_000));
  backupSnapshot = await snapshot();
});

afterAll(async () => {
  await world?.close();
  await cluster?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('instant restore on a default-config cluster', () => {
  it(
    'takes the standby after autovacuum visited it, pg_stat_reset() ran and PostgreSQL crashed and restarted',
    { timeout: 480_000 },
    async () => {
      await rehearseBackup({ user: null }, world.ctx);
      const rehearsed = await standbyCommits();
      // Autovacuum's launcher gets to every database within about two naptimes (1 min each by default).
      await until(
        'autovacuum to visit the standby',
        async () => ((await standbyCommits()) > rehearsed ? true : undefined),
        360_000,
      );
      await superuser('SELECT pg_stat_reset()', DATABASE);
      // A manual VACUUM (FREEZE) of every database it may enter updates pg_database in place, like autovacuum.
      await superuser('VACUUM (FREEZE)');
      await superuser('VACUUM FULL pg_database');
      await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);
      await world.close();
      await cluster.crashRestart();
      world = createRealContext({ url: cluster.superuserUrl(DATABASE), directory });
      world.settings.rehearse = true;

      const result = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
      expect(result.source).toMatchObject({ via: 'standby' });
      expect(await snapshot()).toEqual(backupSnapshot);
    },
  );

  it('refuses a standby changed by an UPDATE that keeps every row count: the file is loaded', async () => {
    await rehearseBackup({ user: null }, world.ctx);
    await changeStandby(`UPDATE items SET label = 'changed behind the server' WHERE id = 7`);
    await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);

    // Letting the session in took an ALTER DATABASE: the standby's seal shows it, already in the dry run.
    const dry = await restoreBackup({ user: 'admin@example.com', dryRun: true }, world.ctx);
    expect(dry.source).toMatchObject({ via: 'file', reason: expect.stringContaining('was altered') });
    const result = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
    expect(result.source).toMatchObject({ via: 'file', reason: expect.stringContaining('was altered') });
    expect(await snapshot()).toEqual(backupSnapshot);
  });

  it('a rehearsal whose copy another session changes after the load fails; one that only connected is ended', async () => {
    const scratchOf = async () =>
      (await world.admin.listDatabases(`${DATABASE}_rehearsal_`))[0] ?? 'no rehearsal copy';
    const idle = await rehearseBackup({ user: null }, world.ctx, {
      reached: async () => {
        const client = new pg.Client({ connectionString: cluster.superuserUrl(await scratchOf()) });
        client.on('error', () => {});
        await client.connect(); // connected and left open: the check ends it
      },
    });
    expect(idle.ok).toBe(true);

    const changed = await rehearseBackup({ user: null }, world.ctx, {
      reached: async () => {
        await superuser(`UPDATE items SET label = 'slipped in' WHERE id = 9`, await scratchOf());
      },
    }).catch((error: unknown) => error);
    expect(changed).toMatchObject({ code: 'BACKUP.REHEARSAL_FAILED' });
    expect((changed as Error).message).toContain('another session changed the restored copy');
    expect(await world.admin.listDatabases(`${DATABASE}_rehearsal_`)).toEqual([]);
  });
});
