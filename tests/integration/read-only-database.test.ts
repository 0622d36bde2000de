// The database held read-only by PostgreSQL (what a restore does for every replica): the app answers refused writes
// 503 with Retry-After, keeps reads and signed reads working, and the server's own bookkeeping still writes.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabaseAdmin, type DatabaseAdminHandle } from '../../runtime/db/admin';
import { createDbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import { createOperationStore } from '../../runtime/db/operations-store';
import { databaseRefusal } from '../../runtime/http/problem';
import { silentLogger } from '../../runtime/observability/logger';
import { createReadOnlyHealer } from '../../runtime/startup/read-only-heal';
import { backupLockName } from '../../handlers/backup/lock';
import { createRealContext } from '../support/restore-real';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newKeyPair, startAccountsHarness, type AccountsHarness } from '../support/accounts-harness';
import { adminQuery, adminUrl, createTestDatabase, uniqueDatabaseName } from '../support/pg';

let h: AccountsHarness;
let admin: DatabaseAdminHandle;
let n = 0;
const fresh = () => `ro${++n}@example.com`;
const request = (user: string) =>
  h.send('POST', '/users', { body: { user, publicKey: newKeyPair().publicKeyPem } });

beforeAll(async () => {
  h = await startAccountsHarness({ dosPrevention: { newUserLimit: 1000, newUserLimitPerAddress: 1000 } });
  admin = createDatabaseAdmin({ url: h.database.url, logger: silentLogger() });
});
afterAll(async () => {
  await admin?.allowWrites(h.database.name).catch(() => {});
  await admin?.close();
  await h?.close();
});

describe('a database held read-only (DatabaseAdmin.refuseWrites)', () => {
  it('refuses writes on connections opened before, answered 503 with Retry-After; reads and signed reads work', async () => {
    const manager = { user: 'um@example.com', key: await h.seedUser('um@example.com', { roles: ['admin'] }) };
    // Every pooled connection opens before the setting: without ending them, they would keep writing.
    await Promise.all([1, 2, 3, 4].map(() => h.db.query('SELECT pg_sleep(0.05)')));
    expect(h.db.pool().totalCount).toBe(4);
    await admin.refuseWrites(h.database.name);
    expect(await admin.refusesWrites(h.database.name)).toBe(true);
    const before = await h.snapshot();

    for (let i = 0; i < 4; i += 1) {
      const refused = await request(fresh());
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ code: 'SERVER.READ_ONLY', kind: 'unavailable' });
    }
    const approve = await h.send('POST', '/users/um@example.com/deny', { as: manager });
    expect(approve.status).toBe(503);
    expect(await h.snapshot()).toBe(before);

    // A signed read records its signature (the replay guard) and answers.
    const who = await h.send('GET', '/who-am-i', { as: manager });
    expect(who.status).toBe(200);
    const list = await h.send('GET', '/users', { as: manager });
    expect(list.status).toBe(200);

    await admin.allowWrites(h.database.name);
    expect(await admin.refusesWrites(h.database.name)).toBe(false);
    // At once: the sessions opened read-only were ended too.
    for (let i = 0; i < 4; i += 1) expect((await request(fresh())).status).toBe(201);
  });

  it('a session it ends fails its next statement with an error answered 503 with a short Retry-After', async () => {
    const client = new pg.Client({ connectionString: h.database.url });
    client.on('error', () => {});
    await client.connect();
    try {
      await admin.refuseWrites(h.database.name);
      const error = await client.query('SELECT 1').catch((e: unknown) => e);
      const refusal = databaseRefusal(error);
      expect(refusal).toMatchObject({ code: 'SERVER.DATABASE_INTERRUPTED', kind: 'unavailable' });
      expect(refusal?.retryAfterSeconds).toBe(1);
    } finally {
      await admin.allowWrites(h.database.name);
      await client.end().catch(() => {});
    }
  });

  it('a plain read cut by the ended sessions is asked again and answers; a write in flight fails and is not retried', async () => {
    const slowRead = h.db.query<{ one: number }>('SELECT 1 AS one FROM pg_sleep(0.5)');
    const slowWrite = h.db
      .query(`INSERT INTO roles (name) SELECT 'slow-role' FROM pg_sleep(0.5)`)
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 150)); // both are running now
    await admin.refuseWrites(h.database.name);
    try {
      expect((await slowRead).rows).toEqual([{ one: 1 }]);
      expect(databaseRefusal(await slowWrite)?.code).toBe('SERVER.DATABASE_INTERRUPTED');
      expect((await h.db.query(`SELECT 1 FROM roles WHERE name = 'slow-role'`)).rowCount).toBe(0);
    } finally {
      await admin.allowWrites(h.database.name);
    }
  });

  it("the server's own records and migrations write READ WRITE on purpose; a plain write is refused", async () => {
    await admin.refuseWrites(h.database.name);
    try {
      const plain = await h.db.query(`INSERT INTO roles (name) VALUES ('x')`).catch((e: unknown) => e);
      expect((plain as { code?: string }).code).toBe('25006');
      const store = createOperationStore(h.db);
      const record = {
        id: '00000000-0000-4000-8000-000000000001',
        kind: 'backup' as const,
        params: {},
        user: null,
        idempotencyKey: null,
        state: 'running' as const,
        phase: 'starting',
        bytesDone: null,
        bytesTotal: null,
        startedAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
        finishedAt: null,
        owner: 'test',
        outcome: null,
      };
      expect(await store.insert(record)).toBe(true);
      await store.save({ ...record, phase: 'restoring' });
      expect((await store.get(record.id))?.phase).toBe('restoring');
      // Nothing pending: migrate writes nothing, so a replica starting during a restore starts.
      expect(await migrate(h.db.pool(), silentLogger())).toBeGreaterThan(0);
    } finally {
      await admin.allowWrites(h.database.name);
    }
  });

  it('refuses to go on when a session it may not end is connected (it would keep writing), and says who', async () => {
    const role = uniqueDatabaseName('ro_role');
    const database = await createTestDatabase('ro_owner');
    await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB NOSUPERUSER`);
    await adminQuery(`ALTER DATABASE "${database.name}" OWNER TO "${role}"`);
    const url = new URL(adminUrl());
    url.username = role;
    url.pathname = `/${database.name}`;
    const owner = createDatabaseAdmin({ url: url.toString(), logger: silentLogger() });
    const superuser = new pg.Client({ connectionString: database.url }); // a superuser's psql, as it were
    superuser.on('error', () => {});
    await superuser.connect();
    try {
      const error = await owner.refuseWrites(database.name).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BACKUP.SESSIONS_IN_THE_WAY' });
      expect((error as Error).message).toMatch(/root \(1\)/);
      await owner.allowWrites(database.name);
      expect(await owner.refusesWrites(database.name)).toBe(false);
    } finally {
      await superuser.end().catch(() => {});
      await owner.close();
      await database.drop();
      await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it("ends a replica's session of another role through pg_signal_backend, though that role's session start is hidden", async () => {
    const role = uniqueDatabaseName('ro_role');
    const replicaRole = uniqueDatabaseName('ro_replica');
    const database = await createTestDatabase('ro_owner');
    await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB NOSUPERUSER IN ROLE pg_signal_backend`);
    await adminQuery(`CREATE ROLE "${replicaRole}" LOGIN NOSUPERUSER`);
    await adminQuery(`ALTER DATABASE "${database.name}" OWNER TO "${role}"`);
    await adminQuery(`CREATE TABLE notes (x int)`, [], database.name);
    await adminQuery(`GRANT INSERT ON notes TO "${replicaRole}"`, [], database.name);
    const as = (name: string) => {
      const url = new URL(adminUrl());
      url.username = name;
      url.pathname = `/${database.name}`;
      return url.toString();
    };
    const owner = createDatabaseAdmin({ url: as(role), logger: silentLogger() });
    const replica = new pg.Pool({ connectionString: as(replicaRole), max: 1 });
    replica.on('error', () => {});
    try {
      await replica.query('INSERT INTO notes VALUES (1)'); // its one connection is open from before
      await owner.refuseWrites(database.name);
      const write = await replica.query('INSERT INTO notes VALUES (2)').catch((e: unknown) => e);
      expect((write as { code?: string }).code).toBe('25006');
    } finally {
      await replica.end().catch(() => {});
      await owner.allowWrites(database.name).catch(() => {});
      await owner.close();
      await database.drop();
      await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
      await adminQuery(`DROP ROLE IF EXISTS "${replicaRole}"`);
    }
  });

  it('a replica heals a leftover of a killed restore on a refused write, but never while a restore holds the lock', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'bomnipotent-heal-'));
    const world = createRealContext({ url: h.database.url, directory });
    const until = async (probe: () => Promise<boolean>) => {
      for (let i = 0; i < 100 && !(await probe()); i += 1) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      await admin.refuseWrites(h.database.name);
      // A restore holds the lock (here: another session holds it): the setting is on purpose and stays.
      const release = await new Promise<() => void>((resolveHeld) => {
        void admin.tryWithLock(backupLockName(h.database.name), async () => {
          await new Promise<void>((done) => resolveHeld(done));
        });
      });
      createReadOnlyHealer({ backups: world.ctx, db: world.db, logger: silentLogger() })();
      await new Promise((r) => setTimeout(r, 500));
      expect(await admin.refusesWrites(h.database.name)).toBe(true);
      release();
      // The lock is free (the restore was killed): the next refused write heals it.
      await new Promise((r) => setTimeout(r, 100));
      createReadOnlyHealer({ backups: world.ctx, db: world.db, logger: silentLogger() })();
      await until(async () => !(await admin.refusesWrites(h.database.name)));
      expect(await admin.refusesWrites(h.database.name)).toBe(false);
      expect((await request(fresh())).status).toBe(201);
    } finally {
      await admin.allowWrites(h.database.name).catch(() => {});
      await world.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('a session left read-only after the setting was reset (missed by the sweep) is ended by the healer', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'bomnipotent-heal-'));
    const world = createRealContext({ url: h.database.url, directory });
    try {
      await admin.refuseWrites(h.database.name);
      await Promise.all([1, 2, 3, 4].map(() => h.db.query('SELECT pg_sleep(0.05)'))); // sessions begun read-only
      await adminQuery(`ALTER DATABASE "${h.database.name}" RESET default_transaction_read_only`);
      const refused = await request(fresh());
      expect(refused.status).toBe(503);
      createReadOnlyHealer({ backups: world.ctx, db: h.db, logger: silentLogger() })();
      let status = 0;
      for (let i = 0; i < 50 && status !== 201; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await request(fresh())).status;
      }
      expect(status).toBe(201);
      // All four old sessions are gone: four writes in parallel all land.
      expect((await Promise.all([1, 2, 3, 4].map(() => request(fresh())))).map((r) => r.status)).toEqual([
        201, 201, 201, 201,
      ]);
    } finally {
      await admin.allowWrites(h.database.name).catch(() => {});
      await world.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('migrates a database that is read-only (the restored copy before the replicas may write to it)', async () => {
    const database = await createTestDatabase('ro_mig');
    const other = createDatabaseAdmin({ url: database.url, logger: silentLogger() });
    const db = createDbHandle(database.url, { max: 2 });
    try {
      await other.refuseWrites(database.name);
      const version = await migrate(db.pool(), silentLogger());
      expect(version).toBeGreaterThan(0);
      const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM schema_migrations');
      expect(Number(rows[0]?.n)).toBe(version);
    } finally {
      await db.close();
      await other.close();
      await database.drop();
    }
  });
});
