// Complete restore against real PostgreSQL and the real tools: success, every refusal, and psql failing halfway;
// once with the in-process executor and once through the executor sidecar process (tests/support/executors.ts).
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from 'vitest';
import { mkdtemp, open, readdir, readFile, rm, stat, truncate, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { withBackupLock } from '../../handlers/backup/lock';
import { manifestFileName } from '../../handlers/backup/naming';
import type { BackupMetadata } from '../../handlers/backup/model';
import { executorKinds, type ExecutorUnderTest } from '../support/executors';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  beforeCompletionMarker,
  createRealContext,
  makeBackup,
  migrateToLatest,
  removeMetadata,
  resignManifest,
  rewriteBackup,
  TEST_TRUST,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { failureOf } from '../support/rejection';
import { backupTestApp } from '../support/test-app';

describe.each(executorKinds)('restore with the $name executor', (kind) => {
  let database: TestDatabase;
  let directory: string;
  let world: RealRestoreWorld;
  let backup: BackupMetadata;
  let backupSnapshot: DatabaseSnapshot;
  let previousSnapshot: DatabaseSnapshot;
  let under: ExecutorUnderTest;

  const snapshot = () => snapshotDatabase(database.url, database.name);

  const failure = failureOf;

  async function leftoverDatabases(): Promise<string[]> {
    const { rows } = await adminQuery<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
      [`${database.name}\\_%`],
    );
    return rows.map((r) => r.datname);
  }

  /** The leftovers once the replaced database's drop, which a restore leaves running in the background, is done. */
  async function leftoversAfterBackgroundDrop(): Promise<string[]> {
    const deadline = Date.now() + 15_000;
    let left = await leftoverDatabases();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      left = await leftoverDatabases();
    }
    return left;
  }

  // One database name and one directory per executor: the sidecar is started once for them and serves only these.
  // Each test gets the database afresh under the same name and an empty directory.
  beforeAll(async () => {
    database = await createTestDatabase(`brf_${kind.name}`);
    directory = await mkdtemp(join(tmpdir(), `bomnipotent-restore-${kind.name}-`));
    under = await kind.start({ dbUrl: database.url, directory });
  });

  afterAll(async () => {
    await under?.close();
    await database?.drop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  /** Drops the database (and any copies derived from its name) and creates it again, empty, with `options`. */
  async function recreateDatabase(options = ''): Promise<void> {
    await database.drop();
    await adminQuery(`CREATE DATABASE "${database.name}" ${options}`);
  }

  async function emptyDirectory(): Promise<void> {
    for (const entry of await readdir(directory))
      await rm(join(directory, entry), { recursive: true, force: true });
  }

  beforeEach(async () => {
    await recreateDatabase();
    await emptyDirectory();
    world = createRealContext({ url: database.url, directory, executor: under.executor });
    await migrateToLatest(world);
    await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
    await world.db.query(`INSERT INTO items (label) VALUES ('in the backup 1'), ('in the backup 2')`);
    backup = await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
    backupSnapshot = await snapshot();
    await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);
    await world.db.query(`CREATE TABLE later (x int)`);
    previousSnapshot = await snapshot();
    expect(previousSnapshot).not.toEqual(backupSnapshot);
  });

  afterEach(async () => {
    await world.close();
  });

  describe('complete restore on real PostgreSQL', () => {
    it('replaces the database with exactly the latest backup, leaves no copies, ends in normal mode, audits who asked', async () => {
      const result = await restoreBackup({ user: 'root@example.com' }, world.ctx);
      expect(result).toMatchObject({
        path: join(directory, backup.file),
        dryRun: false,
        metadata: { sha256: backup.sha256 },
      });
      expect(await snapshot()).toEqual(backupSnapshot);
      expect(await leftoversAfterBackgroundDrop()).toEqual([]);
      expect(world.ctx.maintenance.get().phase).toBe('normal');
      // The server's own pool works again after the swap.
      const { rows } = await world.db.query<{ n: string }>('SELECT count(*)::text AS n FROM items');
      expect(rows[0]?.n).toBe('2');
      const audit = (await readFile(join(directory, 'audit.log.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(audit.at(-1)).toMatchObject({
        action: 'restore',
        outcome: 'succeeded',
        user: 'root@example.com',
        file: backup.file,
      });
      expect(world.logs.join('\n')).toContain("requested by 'root@example.com'");
    });

    it('keeps the replaced database aside when keepOldDatabase is set', async () => {
      world.settings.keepOldDatabase = true;
      await restoreBackup({ user: 'a' }, world.ctx);
      const left = await leftoverDatabases();
      expect(left).toHaveLength(1);
      expect(left[0]).toMatch(new RegExp(`^${database.name}_pre_restore_\\d{14}$`));
      expect(await snapshotDatabase(database.url, left[0]!)).toEqual(previousSnapshot);
    });

    it('dry run verifies and names the file, and changes nothing', async () => {
      const result = await restoreBackup({ user: 'a', dryRun: true }, world.ctx);
      expect(result).toMatchObject({ path: join(directory, backup.file), dryRun: true });
      expect(await snapshot()).toEqual(previousSnapshot);
      expect(await leftoverDatabases()).toEqual([]);
    });

    it('restores a named older backup with file', async () => {
      await world.db.query(`DROP TABLE later`);
      const newer = await makeBackup(world, new Date('2026-01-02T00:00:00Z'));
      const result = await restoreBackup({ user: 'a', file: backup.file }, world.ctx);
      expect(result.path).toBe(join(directory, backup.file));
      expect(newer.file).not.toBe(backup.file);
      expect(await snapshot()).toEqual(backupSnapshot);
    });

    it('no backup in the directory: BACKUP.NONE_FOUND, nothing changed', async () => {
      await rm(join(directory, backup.file));
      await rm(join(directory, manifestFileName(backup.file)));
      expect((await failure(restoreBackup({ user: 'a' }, world.ctx))).code).toBe('BACKUP.NONE_FOUND');
      expect(await snapshot()).toEqual(previousSnapshot);
    });

    it('a truncated newest file is refused by name, with no fallback to the older good one', async () => {
      const newer = await makeBackup(world, new Date('2026-01-02T00:00:00Z'));
      const path = join(directory, newer.file);
      await truncate(path, Math.floor((await stat(path)).size / 2));
      const { code, message } = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(code).toBe('BACKUP.VERIFICATION_FAILED');
      expect(message).toContain(path);
      expect(message).toMatch(/truncated/);
      expect(await snapshot()).toEqual(previousSnapshot);
      expect(await leftoverDatabases()).toEqual([]);
    });

    it('a file with one byte changed is refused (checksum)', async () => {
      const path = join(directory, backup.file);
      const before = await stat(path);
      const handle = await open(path, 'r+');
      try {
        const offset = Math.floor((await handle.stat()).size / 2);
        const byte = Buffer.alloc(1);
        await handle.read(byte, 0, 1, offset);
        byte[0] = byte[0]! ^ 0x01;
        await handle.write(byte, 0, 1, offset);
      } finally {
        await handle.close();
      }
      // The old modification time back: the change must be found by the checksum, not by the listing's mtime check
      // (which catches it only when the write lands in a later tick of the clock than the manifest).
      await utimes(path, before.atime, before.mtime);
      const { code, message } = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(code).toBe('BACKUP.VERIFICATION_FAILED');
      expect(message).toContain(backup.file);
      expect(message).toMatch(/checksum/);
      expect(await snapshot()).toEqual(previousSnapshot);
    });

    it('a file whose signed manifest is missing is no backup: never chosen, refused by name, nothing changed', async () => {
      await removeMetadata(directory, backup.file);
      // Without a record of the sequence: there is no trusted backup, and the message points at the other file.
      const none = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(none.code).toBe('BACKUP.NONE_FOUND');
      expect(none.message).toMatch(/1 other files/);
      // As the server records it after each backup: the newest backup is missing, no silent fallback.
      const sequence = backup.sequence ?? 0;
      expect(sequence).toBeGreaterThan(0);
      await world.ctx.chain.record(database.name, sequence);
      const missing = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(missing.code).toBe('BACKUP.NEWEST_MISSING');
      expect(missing.message).toContain(`sequence ${sequence}`);
      // Named on purpose, but without --allow-unsigned: refused as untrusted, by name.
      const named = await failure(restoreBackup({ user: 'a', file: backup.file }, world.ctx));
      expect(named.code).toBe('BACKUP.UNTRUSTED');
      expect(named.message).toContain(backup.file);
      expect(await snapshot()).toEqual(previousSnapshot);
      expect(await leftoverDatabases()).toEqual([]);
    });

    it('a backup of a newer schema version is refused', async () => {
      await resignManifest(directory, backup.file, (manifest) => ({ ...manifest, schemaVersion: 999 }));
      expect((await failure(restoreBackup({ user: 'a' }, world.ctx))).code).toBe('BACKUP.SCHEMA_TOO_NEW');
      expect(await snapshot()).toEqual(previousSnapshot);
    });

    it('psql failing near the end of a verified file: the database is untouched, the scratch copy is gone', async () => {
      await rewriteBackup(directory, backup.file, (sql) => beforeCompletionMarker(sql, 'SELECT 1/0;'));
      expect((await world.executor.verify(directory, backup.file, TEST_TRUST)).ok).toBe(true);
      const { code, message } = await failure(restoreBackup({ user: 'a' }, world.ctx));
      expect(code).toBe('BACKUP.RESTORE_FAILED');
      expect(message).toMatch(/not touched/);
      expect(await snapshot()).toEqual(previousSnapshot);
      expect(await leftoverDatabases()).toEqual([]);
      expect(world.ctx.maintenance.get().phase).toBe('normal');
      await world.db.query(`INSERT INTO items (label) VALUES ('writable again')`);
    });

    it('never overlaps a running backup: BACKUP.BUSY', async () => {
      const other = createRealContext({ url: database.url, directory, executor: under.executor });
      try {
        const code = await withBackupLock(
          other.admin,
          async () => (await failure(restoreBackup({ user: 'a' }, world.ctx))).code,
        );
        expect(code).toBe('BACKUP.BUSY');
      } finally {
        await other.close();
      }
      expect(await snapshot()).toEqual(previousSnapshot);
    });

    it('while the scratch copy is built, reads keep working and writes get 503; afterwards the backup is in place', async () => {
      // The restore stalls for 2 s inside psql, after all data was loaded into the scratch database.
      await rewriteBackup(directory, backup.file, (sql) =>
        beforeCompletionMarker(sql, 'SELECT pg_sleep(2);'),
      );
      const app = backupTestApp(world.ctx);
      app.get('/probe', async (c) =>
        c.json((await world.db.query('SELECT label FROM items ORDER BY id')).rows),
      );
      app.post('/probe', async (c) => {
        await world.db.query(`INSERT INTO items (label) VALUES ('written during the restore')`);
        return c.text('written');
      });

      const restoring = restoreBackup({ user: 'a' }, world.ctx);
      const deadline = Date.now() + 20_000;
      while (world.ctx.maintenance.get().phase !== 'read-only' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(world.ctx.maintenance.get().phase).toBe('read-only');
      const read = await app.request('/probe');
      expect(read.status).toBe(200);
      expect(await read.json()).toHaveLength(3);
      const write = await app.request('/probe', { method: 'POST' });
      expect(write.status).toBe(503);
      expect(write.headers.get('retry-after')).toBeTruthy();
      await restoring;
      expect((await app.request('/probe', { method: 'POST' })).status).toBe(200);
      const after = (await (await app.request('/probe')).json()) as { label: string }[];
      expect(after.map((r) => r.label)).toEqual([
        'in the backup 1',
        'in the backup 2',
        'written during the restore',
      ]);
    });
  });

  describe('replay protection across a restore', () => {
    it('carries the signatures seen within the window over into the restored database', async () => {
      // seen after the backup was taken: the backup does not know them, the old database does
      await world.db.query(
        `INSERT INTO seen_signatures (digest, expires_at) VALUES ('recent', now() + interval '5 minutes'), ('stale', now() - interval '1 minute')`,
      );
      await restoreBackup({ user: 'admin@example.com' }, world.ctx);
      const { rows } = await world.db.query<{ digest: string }>(
        'SELECT digest FROM seen_signatures ORDER BY digest',
      );
      expect(rows.map((r) => r.digest)).toEqual(['recent']);
    });

    it('carries the bulk ahead of the swap, while reads are answered, and inside the swap only what came since', async () => {
      await world.db.query(
        `INSERT INTO seen_signatures (digest, expires_at) SELECT 'early-' || g, now() + interval '5 minutes' FROM generate_series(1, 500) g`,
      );
      await restoreBackup({ user: 'admin@example.com' }, world.ctx, {
        // The old database is renamed aside here: a signature seen after the carry ahead (a read meanwhile).
        reached: async (phase) => {
          if (phase !== 'swap') return;
          const { rows } = await adminQuery<{ datname: string }>(
            `SELECT datname FROM pg_database WHERE datname LIKE $1`,
            [`${database.name}\\_pre\\_restore\\_%`],
          );
          await adminQuery(
            // READ WRITE on purpose: the restore holds the old database read-only, as the server's own guard writes it.
            `BEGIN READ WRITE; INSERT INTO seen_signatures (digest, expires_at) VALUES ('late', now() + interval '5 minutes' + interval '2 seconds'); COMMIT`,
            [],
            rows[0]!.datname,
          );
        },
      });
      const { rows } = await world.db.query<{ n: string; late: boolean }>(
        `SELECT count(*) AS n, bool_or(digest = 'late') AS late FROM seen_signatures`,
      );
      expect(rows[0]).toEqual({ n: '501', late: true });
      const logs = world.logs.join('\n');
      expect(logs).toMatch(
        /Carried 500 recently seen signature\(s\) \(replay guard\) into '[^']+' ahead of the swap/,
      );
      expect(logs).toMatch(/Carried over from the replaced database: 1 recently seen signature\(s\)/);
    });
  });

  describe('what a plain dump does not carry', () => {
    it('gives the restored database the encoding and locale of the one it replaces', async () => {
      // The suite's database again, under the same name (the one the sidecar serves), in another encoding and locale.
      await world.close();
      await recreateDatabase(`ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
      await emptyDirectory();
      world = createRealContext({ url: database.url, directory, executor: under.executor });
      await migrateToLatest(world);
      await makeBackup(world);
      await restoreBackup({ user: 'admin@example.com' }, world.ctx);
      const { rows } = await adminQuery<{ enc: string; datcollate: string; datctype: string }>(
        'SELECT pg_encoding_to_char(encoding) AS enc, datcollate, datctype FROM pg_database WHERE datname = $1',
        [database.name],
      );
      expect(rows[0]).toEqual({ enc: 'SQL_ASCII', datcollate: 'C', datctype: 'C' });
    });
  });
});
