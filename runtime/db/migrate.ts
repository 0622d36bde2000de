// Applies pending migrations, each in its own transaction, and records the schema version in the database.
import type pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';
import { AppError } from '../../handlers/errors';
import { MIGRATIONS } from './migrations/index';
import type { Migration } from './migrations/types';

const LOCK_KEY = 0x626f6d6e; // one migrator at a time, also across replicas

export async function currentSchemaVersion(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('public.schema_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return 0;
  const result = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return result.rows[0]?.v ?? 0;
}

export async function migrate(
  pool: pg.Pool,
  logger: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    // Nothing is written when nothing is pending: a replica that starts while a restore holds the database
    // read-only still starts. Migrations themselves run READ WRITE on purpose: a restore migrates the restored
    // database before it lets the replicas write to it.
    if ((await currentSchemaVersion(client)) === 0) {
      await client.query('BEGIN READ WRITE');
      try {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    let version = await currentSchemaVersion(client);
    const latest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
    if (version > latest) {
      throw new AppError(
        'DB.SCHEMA_TOO_NEW',
        'misconfigured',
        `The database has schema version ${version}, newer than this server knows (${latest}).`,
        { suggestion: 'Run a server version at least as new as the one that wrote this database.' },
      );
    }
    for (const migration of migrations) {
      if (migration.version <= version) continue;
      await client.query('BEGIN READ WRITE');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new AppError(
          'DB.MIGRATION_FAILED',
          'failed',
          `Schema migration ${migration.version} (${migration.name}) failed.`,
          {
            cause: error,
            suggestion: 'Nothing of it was applied; see the server log for the database error.',
          },
        );
      }
      logger.info(`Applied schema migration ${migration.version} (${migration.name}).`);
      version = migration.version;
    }
    return version;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    client.release();
  }
}
