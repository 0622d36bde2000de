// Rehearsals against the real PostgreSQL and pg tools: a real backup restored in full into the standby, checked and
// signed; a dump whose COPY data lost a line fails with the reason; a forged record is not trusted.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { createRehearsalQueue } from '../../handlers/backup/rehearsal-queue';
import { standbyName } from '../../handlers/backup/database-names';
import { createBackup } from '../../handlers/backup/create-backup';
import { executorKinds } from '../support/executors';
import { recoverInterruptedRehearsal } from '../../handlers/backup/recover';
import {
  rehearsalFileName,
  signRehearsal,
  type RehearsalRecord,
} from '../../handlers/backup/rehearsal-record';
import { listBackups } from '../../handlers/backup/list-backups';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { snapshotDatabase } from '../support/restore-snapshot';
import { checkFreshness } from '../../handlers/backup/freshness';
import { adminQuery, type TestDatabase } from '../support/pg';
import { createRealContext, makeBackup, rewriteBackup, type RealRestoreWorld } from '../support/restore-real';
import { openRealWorld, type RealWorldFixture } from '../support/real-world';

let fixture: RealWorldFixture;
let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let backupFile: string;

async function derivedDatabases(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
    [`${database.name}\\_%`],
  );
  return rows.map((r) => r.datname);
}

/** SIGKILLs the psql that loads into a database named `<prefix>...` as soon as it shows up (by its pid). */
async function killPsqlOf(prefix: string): Promise<boolean> {
  for (let i = 0; i < 1000; i += 1) {
    let pids: string[] = [];
    try {
      pids = execFileSync('pgrep', ['-f', `psql .*-d ${prefix}`], { encoding: 'utf8' })
        .trim()
        .split('\n');
    } catch {
      pids = []; // none yet
    }
    const found = pids.filter(Boolean);
    for (const pid of found) process.kill(Number(pid), 'SIGKILL');
    if (found.length > 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

beforeEach(async () => {
  ({ database, directory, world } = fixture = await openRealWorld('brh'));
  world.settings.rehearse = true;
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`CREATE TABLE "Odd Name" (v int)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'row ' || g FROM generate_series(1, 700) g`);
  await world.db.query(`INSERT INTO "Odd Name" SELECT g FROM generate_series(1, 3) g`);
  backupFile = (await makeBackup(world, new Date(Date.now() - 60_000))).file;
});

afterEach(() => fixture.close());

describe('rehearsal of a real backup', () => {
  it('restores it into the standby (no connections), counts every row, and records a signed, trusted result', async () => {
    const record = await rehearseBackup({ user: 'admin@example.com' }, world.ctx);
    expect(record).toMatchObject({ file: backupFile, ok: true, error: null, tables: expect.any(Number) });
    // items 700 + "Odd Name" 3 + the product's own tables' rows (schema_migrations ...).
    expect(record.rows).toBeGreaterThanOrEqual(703);
    expect(record.standby?.database).toBe(standbyName(database.name));
    const { rows } = await adminQuery<{ datallowconn: boolean }>(
      'SELECT datallowconn FROM pg_database WHERE datname = $1',
      [standbyName(database.name)],
    );
    expect(rows[0]?.datallowconn).toBe(false);
    expect(await derivedDatabases()).toEqual([standbyName(database.name)]); // no scratch copy left

    const listed = (await listBackups(world.ctx)).find((b) => b.file === backupFile);
    expect(listed?.rehearsal).toMatchObject({ state: 'passed', rows: record.rows });
    expect((await checkFreshness(world.ctx))?.lastGoodAt).not.toBeNull();
  });

  it('fails a dump whose load loses a row (re-signed, so it verifies), with the reason, and keeps no standby', async () => {
    // Corruption that psql loads without an error: a trigger, planted before the COPY, drops the row with id 42.
    const trap =
      'CREATE FUNCTION public.drop_one() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN IF NEW.id = 42 THEN RETURN NULL; END IF; RETURN NEW; END$$;\n' +
      'CREATE TRIGGER drop_one BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION public.drop_one();\n';
    await rewriteBackup(directory, backupFile, (sql) => {
      const at = sql.indexOf('COPY public.items ');
      if (at < 0) throw new Error('no COPY of items in the dump');
      return sql.slice(0, at) + trap + sql.slice(at);
    });
    const error = await rehearseBackup({ user: 'admin@example.com' }, world.ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKUP.REHEARSAL_FAILED' });
    expect((error as Error).message).toContain(backupFile);
    expect((error as Error).message).toContain("public.items has 699 rows, the dump's COPY data 700");
    expect(
      world.logs.some(
        (l) => l.startsWith('[ERROR]') && l.includes(`Rehearsal of backup '${backupFile}' FAILED`),
      ),
    ).toBe(true);
    expect(await derivedDatabases()).toEqual([]);
    const listed = (await listBackups(world.ctx)).find((b) => b.file === backupFile);
    expect(listed?.rehearsal).toMatchObject({ state: 'failed', error: expect.stringContaining('699') });
    expect(await checkFreshness(world.ctx)).toMatchObject({ lastGoodAt: null, stale: true });
  });

  it('fails a dump whose COPY data lost its end marker (re-signed), with psql’s error line as the reason', async () => {
    await rewriteBackup(directory, backupFile, (sql) => {
      const copy = sql.indexOf('COPY public.items ');
      const end = sql.indexOf('\n\\.\n', copy);
      if (copy < 0 || end < 0) throw new Error('no COPY of items in the dump');
      return sql.slice(0, end) + sql.slice(end + 3); // the "\." line after the rows of items is gone
    });
    const error = await rehearseBackup({ user: null }, world.ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKUP.REHEARSAL_FAILED' });
    expect((error as Error).message).toMatch(/psql failed with exit code 3.*line \d+: ERROR:/s);
    expect(await derivedDatabases()).toEqual([]);
  });

  it('a forged rehearsal record is not trusted: the backup is listed as not rehearsed and is not fresh', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged: RehearsalRecord = {
      format: 'bomnipotent-rehearsal/1',
      file: backupFile,
      sha256: (
        JSON.parse(await readFile(join(directory, `${backupFile}.manifest.json`), 'utf8')) as {
          manifest: { sha256: string };
        }
      ).manifest.sha256,
      database: database.name,
      rehearsedAt: new Date().toISOString(),
      durationMs: 1,
      ok: true,
      tables: 1,
      rows: 1,
      schemaVersion: 1,
      error: null,
      standby: null,
    };
    await writeFile(join(directory, rehearsalFileName(backupFile)), signRehearsal(forged, privateKey));
    const listed = (await listBackups(world.ctx)).find((b) => b.file === backupFile);
    expect(listed?.rehearsal).toMatchObject({ state: 'untrusted' });
    const freshness = await checkFreshness(world.ctx);
    expect(freshness).toMatchObject({ lastGoodAt: null, stale: true });
  });

  it('start-up recovery drops a scratch copy left by a killed rehearsal, and keeps the standby', async () => {
    await rehearseBackup({ user: null }, world.ctx);
    const leftover = `${database.name}_rehearsal_20260101000000`;
    await adminQuery(`CREATE DATABASE "${leftover}"`);
    expect(await recoverInterruptedRehearsal(world.ctx)).toEqual([leftover]);
    expect(await derivedDatabases()).toEqual([standbyName(database.name)]);
  });

  it('checks the PostgreSQL disk first: too little room for the copy refuses the rehearsal, nothing recorded', async () => {
    expect(await world.admin.dataDirectoryFreeBytes()).toBeGreaterThan(0); // visible here: a local superuser
    // The disk cannot be filled for a test on a shared machine: the free space reported is made small.
    world.ctx.admin = Object.assign(Object.create(world.admin) as typeof world.admin, {
      dataDirectoryFreeBytes: async () => 1000,
    });
    const error = await rehearseBackup({ user: null }, world.ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKUP.INSUFFICIENT_SPACE' });
    expect(await derivedDatabases()).toEqual([]);
    expect((await listBackups(world.ctx)).find((b) => b.file === backupFile)?.rehearsal).toBeNull();
  });

  it('a restore requested while a rehearsal runs starts at once (no wait), and the rehearsal still installs its standby', async () => {
    const backupSnapshot = await snapshotDatabase(database.url, database.name);
    await world.db.query(`INSERT INTO items (label) VALUES ('after the backup')`);
    let release!: () => void;
    let loaded!: () => void;
    const atLoaded = new Promise<void>((resolve) => (loaded = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const rehearsal = rehearseBackup({ user: null }, world.ctx, {
      reached: async () => {
        loaded();
        await gate;
      },
    });
    await atLoaded;
    const restored = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
    expect(restored.source).toMatchObject({ via: 'file', reason: 'the backup was never rehearsed' });
    expect(await snapshotDatabase(database.url, database.name)).toEqual(backupSnapshot);
    release();
    expect(await rehearsal).toMatchObject({ ok: true, file: backupFile });
    const left = await derivedDatabases(); // the replaced database may still be being dropped in the background
    expect(left).toContain(standbyName(database.name));
    expect(left.filter((n) => n.includes('_rehearsal_'))).toEqual([]);
  });

  it(
    'a rehearsal whose psql is SIGKILLed fails, leaves the database and the old standby as they were, and no half copy',
    { timeout: 120_000 },
    async () => {
      await rehearseBackup({ user: null }, world.ctx); // a standby of this backup exists
      const standbyBefore = await world.admin.databaseState(standbyName(database.name));
      await world.db.query(`INSERT INTO items (label) SELECT 'bulk ' || g FROM generate_series(1, 300000) g`);
      const second = (await makeBackup(world)).file;
      const before = await snapshotDatabase(database.url, database.name);
      const rehearsal = rehearseBackup({ user: null, file: second }, world.ctx).catch((e: unknown) => e);
      const killed = await killPsqlOf(`${database.name}_rehearsal_`);
      expect(killed).toBe(true);
      const error = await rehearsal;
      expect(error).toMatchObject({ code: 'BACKUP.REHEARSAL_FAILED' });
      expect((error as Error).message).toContain(second);
      expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
      expect(await derivedDatabases()).toEqual([standbyName(database.name)]);
      expect(await world.admin.databaseState(standbyName(database.name))).toEqual(standbyBefore);
    },
  );
});

describe.each(executorKinds)('background rehearsal after a backup, $name executor', (kind) => {
  it('rehearses each new backup once it is made, and signs the record next to it', async () => {
    const under = await kind.start({ dbUrl: database.url, directory });
    const background = createRealContext({ url: database.url, directory, executor: under.executor });
    try {
      background.settings.rehearse = true;
      const queue = createRehearsalQueue(background.ctx);
      background.ctx.rehearsals = queue;
      const { metadata } = await createBackup(
        { trigger: 'manual', user: 'admin@example.com' },
        background.ctx,
      );
      await queue.idle();
      const listed = (await listBackups(background.ctx)).find((b) => b.file === metadata.file);
      expect(listed?.rehearsal).toMatchObject({ state: 'passed' });
      // 703 rows of the test's tables: counted in the COPY stream (through the sidecar too) and in the copy.
      expect(listed?.rehearsal?.state === 'passed' && listed.rehearsal.rows).toBeGreaterThanOrEqual(703);
      expect(background.logs.some((l) => l.includes(`Rehearsal of backup '${metadata.file}' passed`))).toBe(
        true,
      );
    } finally {
      await background.close();
      await under.close();
    }
  });
});

describe('a restore whose psql is SIGKILLed', () => {
  it('ends (it used to wait forever for psql to read on), reports the kill, and leaves the database untouched', async () => {
    await world.db.query(`INSERT INTO items (label) SELECT 'bulk ' || g FROM generate_series(1, 300000) g`);
    await makeBackup(world);
    await world.db.query(`INSERT INTO items (label) VALUES ('after the backup')`);
    const before = await snapshotDatabase(database.url, database.name);
    const restore = restoreBackup({ user: 'admin@example.com' }, world.ctx).catch((e: unknown) => e);
    expect(await killPsqlOf(`${database.name}_restore_`)).toBe(true);
    const error = await restore;
    expect(error).toMatchObject({ code: 'BACKUP.RESTORE_FAILED' });
    expect((error as Error).message).toMatch(/killed|SIGKILL/i);
    expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
    expect((await derivedDatabases()).filter((n) => n.includes('_restore_'))).toEqual([]);
  });
});
