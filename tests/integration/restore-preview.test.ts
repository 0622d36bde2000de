// A restore shows what it will do: the dry run names the backup, its database, signing key, time, size and rows per
// table against the live database's (from the signed rehearsal record); "the latest" backup of a near-empty database
// is refused while a trusted backup of another database name holds data; a recovery without a backup points at
// `list --offsite` and `--file`. And where a backup came from and what is left: the PostgreSQL version of the server
// it was taken from (a newer major refused up front), and a standby that a restore swapped in no longer listed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { standbyName } from '../../handlers/backup/database-names';
import { listBackups } from '../../handlers/backup/list-backups';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  resignManifest,
  TEST_SIGNER,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase } from '../support/restore-snapshot';
import { openRealWorld, type RealWorldFixture } from '../support/real-world';
import { rejection as failure } from '../support/rejection';

let fixture: RealWorldFixture;
let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;

beforeEach(async () => {
  ({ database, directory, world } = fixture = await openRealWorld('bpv'));
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
});
afterEach(() => fixture.close());

describe('what a restore will do', () => {
  it('the dry run names backup, database, key, time, size and rows per table against the live ones', async () => {
    await world.db.query(`INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 300) g`);
    const backup = await makeBackup(world, new Date(Date.now() - 60_000));
    await rehearseBackup({ user: null }, world.ctx);
    await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);

    const dry = await restoreBackup({ user: 'admin@example.com', dryRun: true }, world.ctx);
    expect(dry.preview).toMatchObject({
      file: backup.file,
      database: database.name,
      signedBy: TEST_SIGNER.publicKey,
      takenAt: backup.startedAt,
      sizeBytes: backup.sizeBytes,
      rowsUnknown: null,
    });
    expect(dry.preview?.tables).toContainEqual({ table: 'public.items', backupRows: 300, liveRows: 301 });
  });

  it('refuses the latest backup of a near-empty database while another database’s trusted backup holds data', async () => {
    const old = await createTestDatabase('bpo');
    const oldWorld = createRealContext({ url: old.url, directory });
    try {
      await migrateToLatest(oldWorld);
      await oldWorld.db.query(`CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL)`);
      await oldWorld.db.query(
        `INSERT INTO docs SELECT g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, 20000) g`,
      );
      const full = await makeBackup(oldWorld, new Date(Date.now() - 120_000));
      const empty = await makeBackup(world, new Date(Date.now() - 60_000)); // the new server's start-up backup
      await world.db.query(`INSERT INTO items (label) VALUES ('kept')`);
      const before = await snapshotDatabase(database.url, database.name);

      const refused = await failure(restoreBackup({ user: 'admin@example.com' }, world.ctx));
      expect(refused.code).toBe('BACKUP.NEAR_EMPTY');
      expect(refused.message).toContain(`'${full.file}' of database '${old.name}'`);
      expect(refused.suggestion).toContain(
        `bomnipotent_client database-backup completely-restore --file ${full.file}`,
      );
      expect(refused.suggestion).toContain(`--file ${empty.file}`);
      expect(await snapshotDatabase(database.url, database.name)).toEqual(before);

      // Named, the other database's backup restores.
      const restored = await restoreBackup({ user: 'admin@example.com', file: full.file }, world.ctx);
      expect(restored.metadata.database).toBe(old.name);
      const { rows } = await world.db.query<{ n: string }>('SELECT count(*)::text AS n FROM docs');
      expect(rows[0]?.n).toBe('20000');
    } finally {
      await oldWorld.close();
      await old.drop();
    }
  });

  it('no backup at all: the error points at list --offsite and --file', async () => {
    const none = await failure(restoreBackup({ user: 'admin@example.com' }, world.ctx));
    expect(none.code).toBe('BACKUP.NONE_FOUND');
    expect(none.suggestion).toContain('database-backup list --offsite');
    expect(none.suggestion).toContain('completely-restore --file <name>');
    const named = await failure(
      restoreBackup({ user: 'admin@example.com', file: 'bpv_20260101_000000.dump' }, world.ctx),
    );
    expect(named.code).toBe('BACKUP.FILE_NOT_FOUND');
    expect(named.suggestion).toContain('database-backup list --offsite');
  });
});

describe('server majors and the standby in list', () => {
  it('lists the PostgreSQL a backup came from, and refuses a backup of a newer major up front', async () => {
    await world.db.query(`INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 100) g`);
    const backup = await makeBackup(world, new Date(Date.now() - 60_000));
    const here = await world.admin.serverVersion();
    expect((await listBackups(world.ctx))[0]).toMatchObject({ file: backup.file, serverVersion: here });

    await resignManifest(directory, backup.file, (m) => ({ ...m, serverVersion: '99.1' }));
    expect((await listBackups(world.ctx))[0]).toMatchObject({ serverVersion: '99.1' });
    const before = await snapshotDatabase(database.url, database.name);
    for (const dryRun of [true, false]) {
      const refused = await failure(restoreBackup({ user: 'admin@example.com', dryRun }, world.ctx));
      expect(refused.code).toBe('BACKUP.NEWER_MAJOR');
      expect(refused.message).toBe(
        `The backup '${backup.file}' was taken from PostgreSQL 99.1, a newer major than this server's PostgreSQL ${here}: a dump does not load into an older major.`,
      );
    }
    expect((await failure(rehearseBackup({ user: null }, world.ctx))).code).toBe('BACKUP.NEWER_MAJOR');
    expect(await snapshotDatabase(database.url, database.name)).toEqual(before);
  });

  it('after a restore swapped the standby in, list no longer reports a standby', async () => {
    world.settings.rehearse = true;
    await world.db.query(`INSERT INTO items (label) SELECT 'item ' || g FROM generate_series(1, 100) g`);
    const backup = await makeBackup(world, new Date(Date.now() - 60_000));
    await rehearseBackup({ user: null }, world.ctx);
    const listed = (await listBackups(world.ctx)).find((b) => b.file === backup.file);
    expect(listed?.rehearsal).toMatchObject({
      state: 'passed',
      standby: { database: standbyName(database.name) },
    });

    const restored = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
    expect(restored.source.via).toBe('standby');
    const after = (await listBackups(world.ctx)).find((b) => b.file === backup.file);
    expect(after?.rehearsal).toMatchObject({ state: 'passed', standby: null });
  });
});
