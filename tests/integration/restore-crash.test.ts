// A restore SIGKILLed mid-way (with its psql), then start-up recovery: the database is exactly the old or the backup.
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverInterruptedRestore, type RecoveryReport } from '../../handlers/backup/recover';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { standbyName } from '../../handlers/backup/database-names';
import { AUDIT_LOG } from '../../runtime/executor/catalog';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  beforeCompletionMarker,
  createRealContext,
  makeBackup,
  migrateToLatest,
  rewriteBackup,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { until } from '../support/until';

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let backupFile: string;
let backupSnapshot: DatabaseSnapshot;
let previousSnapshot: DatabaseSnapshot;
let child: ChildProcess | undefined;

const snapshot = () => snapshotDatabase(database.url, database.name);

async function otherDatabases(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
    [`${database.name}\\_%`],
  );
  return rows.map((r) => r.datname);
}

/** Starts the restore in a child process group; resolves once stdout shows `line`. */
function startRestore(pauseAt: string | undefined, waitFor: string | null): Promise<void> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'tests/support/restore-child.ts'], {
    cwd: process.cwd(),
    detached: true, // its own process group, so the kill takes psql with it, as a container kill would
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      RESTORE_CHILD_DB_URL: database.url,
      RESTORE_CHILD_DIR: directory,
      ...(pauseAt ? { BOMNIPOTENT_TEST_PAUSE_AT: pauseAt } : {}),
    },
  });
  child = proc;
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    if (waitFor === null) resolve();
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (waitFor !== null && out.includes(waitFor)) resolve();
    });
    proc.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    proc.on('exit', (code, signal) =>
      reject(new Error(`restore child exited early (${code ?? signal}): ${out}\n${err}`)),
    );
  });
}

function killChildGroup(): Promise<void> {
  const proc = child;
  if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    process.kill(-proc.pid!, 'SIGKILL');
  });
}

/** Whether PostgreSQL holds the database read-only for new sessions (the restore's setting), and what a write gets. */
async function readOnlySetting(name: string): Promise<boolean> {
  const { rows } = await adminQuery(
    `SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
     WHERE d.datname = $1 AND 'default_transaction_read_only=on' = ANY (s.setconfig)`,
    [name],
  );
  return rows.length > 0;
}

async function writeOnNewSession(): Promise<string> {
  return adminQuery(`CREATE TABLE probe_write (id int)`, [], database.name).then(
    async () => {
      await adminQuery(`DROP TABLE probe_write`, [], database.name);
      return 'written';
    },
    (error: { code?: string }) => `refused ${error.code}`,
  );
}

/** The audit log as (outcome, message) pairs: who replaced the database must survive any kill. */
async function auditTrail(): Promise<{ outcome: string; user: string | null; message: string }[]> {
  const text = await readFile(join(directory, AUDIT_LOG), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { outcome: string; user: string | null; message: string });
}

/** Recovery as the server runs it at start; retried while the killed process's lock session is being cleaned up. */
async function recover(): Promise<RecoveryReport> {
  const fresh = createRealContext({ url: database.url, directory });
  try {
    return await until('the backup lock to be released', async () => {
      const report = await recoverInterruptedRestore(fresh.ctx);
      return report.skipped ? undefined : report;
    });
  } finally {
    await fresh.close();
  }
}

beforeEach(async () => {
  database = await createTestDatabase('brc');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-restore-crash-'));
  world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'backup row ' || g FROM generate_series(1, 500) g`);
  backupFile = (await makeBackup(world, new Date('2026-01-01T00:00:00Z'))).file;
  backupSnapshot = await snapshot();
  await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);
  previousSnapshot = await snapshot();
  await world.close(); // the child is the server now
});

afterEach(async () => {
  await killChildGroup();
  child = undefined;
  await database.drop();
  await rm(directory, { recursive: true, force: true });
});

describe('a restore killed with SIGKILL, then recovery at start-up', () => {
  it('killed during the scratch restore (psql mid-transaction): the previous content, no scratch database left', async () => {
    await rewriteBackup(directory, backupFile, (sql) => beforeCompletionMarker(sql, 'SELECT pg_sleep(30);'));
    const started = startRestore(undefined, null);
    await until('psql to be inside the scratch restore', async () => {
      const { rows } = await adminQuery(
        `SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active'`,
        [`${database.name}\\_restore\\_%`],
      );
      return rows.length > 0 ? true : undefined;
    });
    started.catch(() => {}); // its exit after the kill is expected
    await killChildGroup();
    expect((await otherDatabases()).some((n) => n.startsWith(`${database.name}_restore_`))).toBe(true);
    // The killed restore leaves every replica's writes refused, by PostgreSQL itself ...
    expect(await readOnlySetting(database.name)).toBe(true);
    expect(await writeOnNewSession()).toBe('refused 25006');
    const report = await recover();
    // ... until start-up recovery resets it.
    expect(report.madeWritable).toEqual([database.name]);
    expect(await readOnlySetting(database.name)).toBe(false);
    expect(await writeOnNewSession()).toBe('written');
    expect(report.renamedBack).toBeNull();
    expect(report.droppedScratch).toHaveLength(1);
    expect(await snapshot()).toEqual(previousSnapshot);
    expect(await otherDatabases()).toEqual([]);
    expect(await auditTrail()).toMatchObject([
      { outcome: 'failed', user: null, message: expect.stringMatching(/interrupted before its swap/) },
    ]);
  });

  it('killed in the swap, between the two renames (no database under its name): the previous content comes back', async () => {
    const paused = startRestore('swap', 'PAUSED swap');
    await paused;
    await killChildGroup();
    const { rows } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [database.name]);
    expect(rows).toHaveLength(0); // the moment a naive recovery would find nothing
    const report = await recover();
    expect(report.renamedBack).toMatch(new RegExp(`^${database.name}_pre_restore_\\d{14}$`));
    expect(report.madeWritable).toEqual([database.name]); // the setting went aside with the old database
    expect(await writeOnNewSession()).toBe('written');
    expect(report.droppedScratch).toHaveLength(1);
    expect(await snapshot()).toEqual(previousSnapshot);
    expect(await otherDatabases()).toEqual([]);
    expect(await auditTrail()).toMatchObject([
      { outcome: 'started', user: 'crash-test@example.com' },
      {
        outcome: 'failed',
        message: expect.stringMatching(/renamed back, so '.+' holds its previous content/),
      },
    ]);
  });

  it('killed right after the swap, before migrating: exactly the backup, the previous copy kept and named', async () => {
    await startRestore('swapped', 'PAUSED swapped');
    await killChildGroup();
    expect(await readOnlySetting(database.name)).toBe(true); // the restored copy arrives read-only
    const report = await recover();
    expect(report.renamedBack).toBeNull();
    expect(report.keptAside).toHaveLength(1);
    expect(report.madeWritable).toEqual([database.name, report.keptAside[0]]);
    expect(await readOnlySetting(report.keptAside[0]!)).toBe(false);
    expect(await writeOnNewSession()).toBe('written');
    expect(await snapshot()).toEqual(backupSnapshot);
    expect(await snapshotDatabase(database.url, report.keptAside[0]!)).toEqual(previousSnapshot);
    expect(await auditTrail()).toMatchObject([
      {
        outcome: 'started',
        user: 'crash-test@example.com',
        message: expect.stringContaining(report.keptAside[0]!),
      },
      { outcome: 'succeeded', message: expect.stringMatching(/holds the backup's data/) },
    ]);
  });

  it('a restore that is not killed runs to the end in the child (the harness itself works)', async () => {
    await startRestore(undefined, 'DONE');
    expect(await snapshot()).toEqual(backupSnapshot);
    expect(await readOnlySetting(database.name)).toBe(false);
    expect(await writeOnNewSession()).toBe('written');
    // the replaced database is dropped in the background after the answer; the child ends once that is done
    if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
    expect(await otherDatabases()).toEqual([]);
  });

  describe('from the rehearsed standby', () => {
    /** Rehearses the backup in a context of its own: the standby then holds exactly it. */
    async function rehearse(): Promise<void> {
      const w = createRealContext({ url: database.url, directory });
      try {
        await rehearseBackup({ user: null, file: backupFile }, w.ctx);
      } finally {
        await w.close();
      }
      expect(await otherDatabases()).toEqual([standbyName(database.name)]);
    }

    it('killed between the two renames: the previous content comes back, the taken standby is dropped', async () => {
      await rehearse();
      await startRestore('swap', 'PAUSED swap');
      await killChildGroup();
      expect(await otherDatabases()).not.toContain(standbyName(database.name)); // it was taken as the scratch copy
      const report = await recover();
      expect(report.renamedBack).toMatch(new RegExp(`^${database.name}_pre_restore_\\d{14}$`));
      expect(report.droppedScratch).toHaveLength(1);
      expect(await snapshot()).toEqual(previousSnapshot);
      expect(await otherDatabases()).toEqual([]);
      expect(await auditTrail()).toMatchObject([
        { outcome: 'started', message: expect.stringContaining('from its rehearsed standby') },
        { outcome: 'failed', message: expect.stringMatching(/renamed back/) },
      ]);
    });

    it('killed right after the swap: exactly the backup, the previous copy kept', async () => {
      await rehearse();
      await startRestore('swapped', 'PAUSED swapped');
      await killChildGroup();
      const report = await recover();
      expect(report.keptAside).toHaveLength(1);
      expect(await snapshot()).toEqual(backupSnapshot);
      expect(await snapshotDatabase(database.url, report.keptAside[0]!)).toEqual(previousSnapshot);
      expect((await auditTrail())[0]).toMatchObject({
        outcome: 'started',
        message: expect.stringContaining('from its rehearsed standby'),
      });
    });
  });
});
