// allowUnsigned without a file, against real PostgreSQL and real backups: it only ever applies to a file named on
// purpose. A newer backup that is not trusted (signed by a foreign key, or with its manifest gone) is never restored
// as "the latest" because the request carried allowUnsigned.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import type { BackupMetadata } from '../../handlers/backup/model';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  removeMetadata,
  resignManifest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { testSigner } from '../support/backup-signer';

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let older: BackupMetadata;
let newer: BackupMetadata;
let olderSnapshot: DatabaseSnapshot;
let newerSnapshot: DatabaseSnapshot;
let currentSnapshot: DatabaseSnapshot;
const snapshot = () => snapshotDatabase(database.url, database.name);

beforeAll(async () => {
  database = await createTestDatabase('brau');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-allow-unsigned-'));
});
afterAll(() => tearDown({ db: database, dirs: [directory] }));

beforeEach(async () => {
  world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  await world.db.query(`DROP TABLE IF EXISTS items`);
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) VALUES ('in the older, trusted backup')`);
  older = await makeBackup(world, new Date('2026-01-01T00:00:00Z'));
  olderSnapshot = await snapshot();
  await world.db.query(`INSERT INTO items (label) VALUES ('only in the newer, untrusted file')`);
  newer = await makeBackup(world, new Date('2026-01-02T00:00:00Z'));
  newerSnapshot = await snapshot();
  await world.db.query(`INSERT INTO items (label) VALUES ('written after both')`);
  currentSnapshot = await snapshot();
});
afterEach(async () => {
  await world.close();
  for (const file of [older.file, newer.file])
    for (const name of [file, `${file}.manifest.json`]) await rm(join(directory, name), { force: true });
});

describe('allowUnsigned without a file', () => {
  it.each([
    ['signed by a foreign key', () => resignManifest(directory, newer.file, (m) => m, testSigner())],
    ['whose manifest is gone', () => removeMetadata(directory, newer.file)],
  ])('a newer file %s: the older trusted backup is restored, never the newer file', async (_how, spoil) => {
    await spoil();
    const result = await restoreBackup({ user: 'a', allowUnsigned: true }, world.ctx);
    expect(result.path).toBe(join(directory, older.file));
    const restored = await snapshot();
    expect(restored).toEqual(olderSnapshot);
    expect(restored).not.toEqual(newerSnapshot);
    expect(restored).not.toEqual(currentSnapshot);
  });
});
