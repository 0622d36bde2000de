// Schema migrations against a database of their own: versions recorded, idempotent, all-or-nothing, too new refused.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { currentSchemaVersion, migrate } from '../../runtime/db/migrate';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../runtime/db/migrations/index';
import { silentLogger } from '../../runtime/observability/logger';
import { createTestDatabase, type TestDatabase } from '../support/pg';

describe('migrate', () => {
  let database: TestDatabase;
  let db: DbHandle;

  beforeEach(async () => {
    database = await createTestDatabase('migr');
    db = createDbHandle(database.url, { max: 2 });
  });
  afterEach(async () => {
    await db.close();
    await database.drop();
  });

  const version = async () => {
    const client = await db.pool().connect();
    try {
      return await currentSchemaVersion(client);
    } finally {
      client.release();
    }
  };

  it('applies every migration in order and records each version', async () => {
    expect(await version()).toBe(0);
    expect(await migrate(db.pool(), silentLogger())).toBe(LATEST_SCHEMA_VERSION);
    const { rows } = await db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await version()).toBe(LATEST_SCHEMA_VERSION);
  });

  it('is idempotent: a second run changes nothing', async () => {
    await migrate(db.pool(), silentLogger());
    const before = await db.query('SELECT version, applied_at FROM schema_migrations ORDER BY version');
    expect(await migrate(db.pool(), silentLogger())).toBe(LATEST_SCHEMA_VERSION);
    const after = await db.query('SELECT version, applied_at FROM schema_migrations ORDER BY version');
    expect(after.rows).toEqual(before.rows);
  });

  it('applies a failing migration not at all, and keeps the earlier ones', async () => {
    const broken = [
      ...MIGRATIONS,
      { version: 9001, name: 'half', sql: 'CREATE TABLE half_done (id int); SELECT no_such_function();' },
    ];
    await expect(migrate(db.pool(), silentLogger(), broken)).rejects.toMatchObject({
      code: 'DB.MIGRATION_FAILED',
    });
    expect(await version()).toBe(LATEST_SCHEMA_VERSION);
    const { rows } = await db.query<{ t: string | null }>(
      `SELECT to_regclass('public.half_done')::text AS t`,
    );
    expect(rows[0]?.t).toBeNull();
  });

  it('refuses a database whose schema is newer than this server knows', async () => {
    await migrate(db.pool(), silentLogger());
    await db.query(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'from the future')`);
    await expect(migrate(db.pool(), silentLogger())).rejects.toMatchObject({ code: 'DB.SCHEMA_TOO_NEW' });
  });

  it('lets two servers start at once: one migrates, the other waits and finds it done', async () => {
    const other = createDbHandle(database.url, { max: 2 });
    try {
      const results = await Promise.all([
        migrate(db.pool(), silentLogger()),
        migrate(other.pool(), silentLogger()),
      ]);
      expect(results).toEqual([LATEST_SCHEMA_VERSION, LATEST_SCHEMA_VERSION]);
    } finally {
      await other.close();
    }
  });
});
