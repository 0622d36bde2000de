import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabaseAdmin,
  parseServerVersion,
  quoteIdent,
  type DatabaseAdminHandle,
} from '../../runtime/db/admin';
import { silentLogger } from '../../runtime/observability/logger';
import { adminQuery, createTestDatabase, urlFor, type TestDatabase } from '../support/pg';

let db: TestDatabase;
let admin: DatabaseAdminHandle;

beforeAll(async () => {
  db = await createTestDatabase('bt_admin');
  admin = createDatabaseAdmin({ url: db.url, logger: silentLogger() });
});

afterAll(async () => {
  await admin?.close();
  await db?.drop();
});

async function connect(database: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: urlFor(database) });
  client.on('error', () => {}); // terminated on purpose by some tests
  await client.connect();
  return client;
}

describe('createDatabaseAdmin against PostgreSQL', () => {
  it('reports the server version without the distribution suffix', async () => {
    const { rows } = await adminQuery<{ server_version: string }>('SHOW server_version');
    const version = await admin.serverVersion();
    expect(version).toMatch(/^\d+(\.\d+)?$/);
    expect(rows[0]!.server_version.startsWith(version)).toBe(true);
    expect(parseServerVersion('15.20 (Debian 15.20-1.pgdg120+1)')).toBe('15.20');
    expect(parseServerVersion('16beta1')).toBe('16');
  });

  it('reports the database size, the right to create databases and existence', async () => {
    expect(await admin.databaseSizeBytes()).toBeGreaterThan(1024 * 1024);
    expect(await admin.canCreateDatabases()).toBe(true); // the test role is a superuser
    expect(await admin.databaseExists(db.name)).toBe(true);
    expect(await admin.databaseExists(`${db.name}_missing`)).toBe(false);
  });

  it('reads the schema version from the server database: 0 without the table, else the highest', async () => {
    expect(await admin.schemaVersion()).toBe(0);
    await adminQuery(
      'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)',
      [],
      db.name,
    );
    await adminQuery(`INSERT INTO schema_migrations VALUES (1, 'a'), (3, 'c'), (2, 'b')`, [], db.name);
    expect(await admin.schemaVersion()).toBe(3);
  });

  it('lists databases by a literal prefix: _ and % are not wildcards', async () => {
    await adminQuery(`CREATE DATABASE ${quoteIdent(`${db.name}_x_2`)}`);
    await adminQuery(`CREATE DATABASE ${quoteIdent(`${db.name}_xy3`)}`);
    expect(await admin.listDatabases(`${db.name}_x_`)).toEqual([`${db.name}_x_2`]);
    expect(await admin.listDatabases(`${db.name}_x`)).toEqual([`${db.name}_x_2`, `${db.name}_xy3`]);
    expect(await admin.listDatabases(`${db.name}_%`)).toEqual([]);
  });

  it('drops a database with a quote in its name, even while someone is connected', async () => {
    const odd = `${db.name}_q"x`;
    await adminQuery(`CREATE DATABASE ${quoteIdent(odd)}`);
    const client = await connect(odd);
    await admin.dropDatabase(odd);
    expect(await admin.databaseExists(odd)).toBe(false);
    await client.end().catch(() => {});
    await admin.dropDatabase(odd); // IF EXISTS: no error the second time
  });

  it('refuses to drop or rename the maintenance database', async () => {
    await expect(admin.dropDatabase('postgres')).rejects.toMatchObject({ code: 'DB.PROTECTED_DATABASE' });
    await expect(admin.renameDatabase('postgres', 'x')).rejects.toMatchObject({
      code: 'DB.PROTECTED_DATABASE',
    });
  });

  it('renames a database that has open connections by ending them first', async () => {
    const from = `${db.name}_ren_a`;
    const to = `${db.name}_ren_b`;
    await adminQuery(`CREATE DATABASE ${quoteIdent(from)}`);
    const clients = [await connect(from), await connect(from)];
    await admin.renameDatabase(from, to);
    expect(await admin.databaseExists(from)).toBe(false);
    expect(await admin.databaseExists(to)).toBe(true);
    await expect(clients[0]!.query('SELECT 1')).rejects.toThrow();
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  });

  it('reports a rename onto an existing name as DB.RENAME_FAILED', async () => {
    const a = `${db.name}_dup_a`;
    const b = `${db.name}_dup_b`;
    await adminQuery(`CREATE DATABASE ${quoteIdent(a)}`);
    await adminQuery(`CREATE DATABASE ${quoteIdent(b)}`);
    await expect(admin.renameDatabase(a, b)).rejects.toMatchObject({ code: 'DB.RENAME_FAILED' });
  });
});

describe('tryWithLock', () => {
  const lockName = () => `bomnipotent-test-lock:${db.name}`;

  it('holds the lock from the maintenance database while fn runs, and refuses a second holder', async () => {
    const result = await admin.tryWithLock(lockName(), async () => {
      const { rows } = await adminQuery<{ datname: string }>(
        `SELECT d.datname FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND l.granted AND l.objid = (hashtext($1)::bigint & 4294967295)::oid`,
        [lockName()],
      );
      const inner = await admin.tryWithLock(lockName(), async () => 'inner');
      return { holders: rows.map((r) => r.datname), inner };
    });
    expect(result).toEqual({ acquired: true, value: { holders: ['postgres'], inner: { acquired: false } } });
    // Released afterwards.
    expect(await admin.tryWithLock(lockName(), async () => 1)).toEqual({ acquired: true, value: 1 });
  });

  it('is refused while another replica (another connection) holds it, and granted once released', async () => {
    const replica = await connect('postgres');
    try {
      await replica.query('SELECT pg_advisory_lock(hashtext($1))', [lockName()]);
      expect(await admin.tryWithLock(lockName(), async () => 'ran')).toEqual({ acquired: false });
      await replica.query('SELECT pg_advisory_unlock(hashtext($1))', [lockName()]);
      expect(await admin.tryWithLock(lockName(), async () => 'ran')).toEqual({
        acquired: true,
        value: 'ran',
      });
    } finally {
      await replica.end();
    }
  });

  it('releases the lock when fn throws', async () => {
    await expect(admin.tryWithLock(lockName(), () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await admin.tryWithLock(lockName(), async () => 'again')).toEqual({
      acquired: true,
      value: 'again',
    });
  });
});

describe('as a non-superuser owner with CREATEDB', () => {
  const role = `bt_owner_${process.pid}_${Date.now().toString(36)}`;
  let owned: TestDatabase;
  let ownerAdmin: DatabaseAdminHandle;
  const ownerUrl = (database: string) => {
    const url = new URL(urlFor(database));
    url.username = role;
    url.password = '';
    return url.toString();
  };

  beforeAll(async () => {
    await adminQuery(`CREATE ROLE ${role} LOGIN CREATEDB`);
    owned = await createTestDatabase('bt_owned');
    await adminQuery(`ALTER DATABASE ${owned.name} OWNER TO ${role}`);
    ownerAdmin = createDatabaseAdmin({ url: ownerUrl(owned.name), logger: silentLogger() });
  });
  afterAll(async () => {
    await ownerAdmin?.close();
    await owned?.drop();
    await adminQuery(`DROP ROLE IF EXISTS ${role}`);
  });

  it('reports the database locale for the restore copy', async () => {
    const { rows } = await adminQuery<{ datcollate: string; enc: string }>(
      'SELECT datcollate, pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = $1',
      [owned.name],
    );
    expect(await ownerAdmin.databaseLocale()).toMatchObject({
      encoding: rows[0]!.enc,
      collate: rows[0]!.datcollate,
      provider: 'libc',
    });
  });

  it("ends its own role's sessions to rename, but names a superuser's session it may not end", async () => {
    const own = new pg.Client({ connectionString: ownerUrl(owned.name) });
    own.on('error', () => {});
    await own.connect();
    const renamed = `${owned.name}_renamed`;
    await ownerAdmin.renameDatabase(owned.name, renamed);
    await ownerAdmin.renameDatabase(renamed, owned.name);
    await own.end().catch(() => {});

    const superuser = await connect(owned.name);
    try {
      const error = await ownerAdmin.renameDatabase(owned.name, renamed).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DB.RENAME_FAILED' });
      expect((error as { message: string }).message).toMatch(/may not end are connected \(root \(1\)\)/);
      expect(await ownerAdmin.databaseExists(owned.name)).toBe(true);
    } finally {
      await superuser.end().catch(() => {});
    }
  }, 30_000);
});
