// The off-site state the status at a glance shows (runtime/db/offsite-state.ts) in a real database: one record per
// store location shared by every replica; a copy run that could not read the store keeps the newest an earlier run
// confirmed; a restore carries the server's record over into the restored database instead of the backup's old one.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import { carryOffsiteStateFrom, createOffsiteStateStore } from '../../runtime/db/offsite-state';
import { silentLogger } from '../../runtime/observability/logger';
import { createTestDatabase, type TestDatabase } from '../support/pg';

const LOCATION = 's3://bucket/bomnipotent/';
let databases: TestDatabase[] = [];
let handles: DbHandle[] = [];

async function freshDatabase(): Promise<{ database: TestDatabase; db: DbHandle }> {
  const database = await createTestDatabase('offstate');
  const db = createDbHandle(database.url, { max: 2 });
  await migrate(db.pool(), silentLogger());
  databases.push(database);
  handles.push(db);
  return { database, db };
}

let replicaA: DbHandle;
let replicaB: DbHandle;

beforeAll(async () => {
  const { database, db } = await freshDatabase();
  replicaA = db;
  replicaB = createDbHandle(database.url, { max: 2 });
  handles.push(replicaB);
});
afterAll(async () => {
  for (const db of handles) await db.close();
  for (const database of databases) await database.drop();
  handles = [];
  databases = [];
});

describe('the shared off-site state', () => {
  it("is what the last copy run of any replica recorded; an unread store keeps the earlier read's newest", async () => {
    const a = createOffsiteStateStore(replicaA);
    const b = createOffsiteStateStore(replicaB);
    expect(await b.read(LOCATION)).toBeNull();
    const newest = new Date('2026-12-07T04:00:00Z');
    const first = new Date('2026-12-07T04:01:00Z');
    await a.record(LOCATION, { newestConfirmed: newest, at: first, failure: null });
    expect(await b.read(LOCATION)).toEqual({
      newestConfirmedAt: newest,
      lastCopy: { at: first, failure: null },
    });
    const second = new Date('2026-12-07T05:01:00Z');
    await b.record(LOCATION, { newestConfirmed: undefined, at: second, failure: 'connection refused' });
    expect(await a.read(LOCATION)).toEqual({
      newestConfirmedAt: newest,
      lastCopy: { at: second, failure: 'connection refused' },
    });
    await a.record(LOCATION, { newestConfirmed: null, at: second, failure: null }); // the store emptied
    expect((await b.read(LOCATION))?.newestConfirmedAt).toBeNull();
    expect(await b.read('s3://other/')).toBeNull();
  });

  it("is carried over by a restore: the replaced database's record replaces the backup's", async () => {
    const restored = await freshDatabase();
    const old = new Date('2026-01-01T00:00:00Z');
    await createOffsiteStateStore(restored.db).record(LOCATION, {
      newestConfirmed: old,
      at: old,
      failure: 'old',
    });
    const source = new pg.Client({ connectionString: databases[0]!.url });
    await source.connect();
    try {
      const carried = await restored.db.writeThroughReadOnly((target) =>
        carryOffsiteStateFrom(target, source),
      );
      expect(carried).toBe(1);
    } finally {
      await source.end();
    }
    expect(await createOffsiteStateStore(restored.db).read(LOCATION)).toEqual(
      await createOffsiteStateStore(replicaA).read(LOCATION),
    );
  });

  it('carries only the off-site state: a key that merely looks like it (offsiteXstate:) stays as it was', async () => {
    const restored = await freshDatabase();
    const lookalike = 'offsiteXstate:s3://bucket/bomnipotent/';
    await restored.db.query("INSERT INTO server_info (key, value) VALUES ($1, 'the restored database''s')", [
      lookalike,
    ]);
    const source = new pg.Client({ connectionString: databases[0]!.url });
    await source.connect();
    try {
      await source.query(
        "INSERT INTO server_info (key, value) VALUES ($1, 'the replaced database''s') ON CONFLICT (key) DO NOTHING",
        [lookalike],
      );
      const carried = await restored.db.writeThroughReadOnly((target) =>
        carryOffsiteStateFrom(target, source),
      );
      expect(carried).toBe(1); // the one offsite_state: record
    } finally {
      await source.end();
    }
    const { rows } = await restored.db.query<{ value: string }>(
      'SELECT value FROM server_info WHERE key = $1',
      [lookalike],
    );
    expect(rows).toEqual([{ value: "the restored database's" }]);
    expect(await createOffsiteStateStore(restored.db).read(LOCATION)).toEqual(
      await createOffsiteStateStore(replicaA).read(LOCATION),
    );
  });
});
