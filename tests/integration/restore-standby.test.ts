// The instant restore against real PostgreSQL: the rehearsed standby is swapped in when it holds exactly the chosen
// backup; a standby of another backup, or one changed behind the server's back, is not used (the file is loaded).
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { standbyName } from '../../handlers/backup/database-names';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { adminQuery, urlFor, type TestDatabase } from '../support/pg';
import { makeBackup, type RealRestoreWorld } from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { openRealWorld, type RealWorldFixture } from '../support/real-world';

let fixture: RealWorldFixture;
let database: TestDatabase;
let world: RealRestoreWorld;
let first: string;
let firstSnapshot: DatabaseSnapshot;

const snapshot = () => snapshotDatabase(database.url, database.name);

async function standbyExists(): Promise<boolean> {
  const { rowCount } = await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [
    standbyName(database.name),
  ]);
  return (rowCount ?? 0) > 0;
}

beforeEach(async () => {
  ({ database, world } = fixture = await openRealWorld('bsb'));
  world.settings.rehearse = true;
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'first ' || g FROM generate_series(1, 300) g`);
  first = (await makeBackup(world, new Date(Date.now() - 120_000))).file;
  firstSnapshot = await snapshot();
});

afterEach(() => fixture.close());

describe('instant restore from the rehearsed standby', () => {
  it('swaps the standby in: the data equals the backup, and the dry run names the path', async () => {
    await rehearseBackup({ user: null }, world.ctx);
    await world.db.query(`INSERT INTO items (label) VALUES ('written after the backup')`);

    const dry = await restoreBackup({ user: 'admin@example.com', dryRun: true }, world.ctx);
    expect(dry.source.via).toBe('standby');
    expect(dry.source.reason).toContain('holds this very backup');

    const result = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
    expect(result.source.via).toBe('standby');
    expect(await snapshot()).toEqual(firstSnapshot);
    expect(await standbyExists()).toBe(false); // it became the database; a new rehearsal rebuilds it
    expect(world.logs.some((l) => l.includes('swapped in from the rehearsed standby'))).toBe(true);
  });

  it('does not use a standby that holds another backup: the chosen file is loaded', async () => {
    await rehearseBackup({ user: null }, world.ctx);
    await world.db.query(`INSERT INTO items (label) VALUES ('in the second backup only')`);
    const second = (await makeBackup(world, new Date(Date.now() - 60_000))).file;
    await rehearseBackup({ user: null, file: second }, world.ctx); // the standby now holds the second backup
    await world.db.query(`INSERT INTO items (label) VALUES ('written after both')`);

    const result = await restoreBackup({ user: 'admin@example.com', file: first }, world.ctx);
    expect(result.source).toMatchObject({
      via: 'file',
      reason: expect.stringContaining('holds another backup'),
    });
    expect(await snapshot()).toEqual(firstSnapshot);
    expect(await standbyExists()).toBe(true); // untouched, still the second backup's
  });

  it('does not use a standby changed behind the server’s back, even with connections refused again', async () => {
    await rehearseBackup({ user: null }, world.ctx);
    const standby = standbyName(database.name);
    await adminQuery(`ALTER DATABASE "${standby}" ALLOW_CONNECTIONS true`);
    const client = new pg.Client({ connectionString: urlFor(standby) });
    await client.connect();
    await client.query(`INSERT INTO items (label) VALUES ('planted in the standby')`);
    await client.end();
    await adminQuery(`ALTER DATABASE "${standby}" ALLOW_CONNECTIONS false`);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the backend's statistics reach the shared ones

    const result = await restoreBackup({ user: 'admin@example.com' }, world.ctx);
    expect(result.source).toMatchObject({ via: 'file', reason: expect.stringContaining('changed') });
    expect(await snapshot()).toEqual(firstSnapshot);
  });
});
