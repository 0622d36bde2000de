// DatabaseCopies over pg: the scratch, set-aside and standby databases next to the server's own.
import pg from 'pg';
import { AppError } from '../../../handlers/errors';
import type { DatabaseCopies } from '../../../handlers/ports/database-admin';
import { currentSchemaVersion } from '../migrate';
import {
  DUMPED_TABLE,
  OBJECT_IN_USE,
  RENAME_ATTEMPTS,
  TERMINATE_SIGNALABLE,
  UNSIGNALABLE,
  describe,
  likePrefix,
  quoteIdent,
  refuseProtected,
  sessionsInTheWay,
  urlForDatabase,
  type AdminConnection,
} from './sql';

export function databaseCopies(conn: AdminConnection): DatabaseCopies {
  return {
    databaseName: conn.databaseName,
    databaseExists: (name) => databaseExists(conn, name),
    listDatabases: (prefix) => listDatabases(conn, prefix),
    dropDatabase: (name) => dropDatabase(conn, name),
    setAllowConnections: (name, allow) => setAllowConnections(conn, name, allow),
    databaseState: (name) => databaseState(conn, name),
    inspectRestored: (name, tables) => inspectRestored(conn, name, tables),
    renameDatabase: (from, to) => renameDatabase(conn, from, to),
  };
}

export async function databaseExists(conn: AdminConnection, name: string) {
  const { rowCount } = await conn.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

export async function listDatabases(conn: AdminConnection, prefix: string) {
  const { rows } = await conn.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\' ORDER BY datname`,
    [likePrefix(prefix)],
  );
  return rows.map((r) => r.datname);
}

export async function dropDatabase(conn: AdminConnection, name: string) {
  refuseProtected(name);
  await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

export async function setAllowConnections(conn: AdminConnection, name: string, allow: boolean) {
  refuseProtected(name);
  await conn.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
}

export async function databaseState(conn: AdminConnection, name: string) {
  // The counters move with every transaction and row written in that database, the oid with a drop and
  // re-create under the same name; a stats reset changes stats_reset, so it reads as "changed" too.
  const { rows } = await conn.query<{
    oid: string;
    allow: boolean;
    size: string;
    counters: string;
  }>(
    `SELECT d.oid::text AS oid, d.datallowconn AS allow, pg_database_size(d.oid)::text AS size,
            concat_ws('/', s.xact_commit, s.xact_rollback, s.tup_inserted, s.tup_updated, s.tup_deleted,
                      extract(epoch FROM s.stats_reset)) AS counters
       FROM pg_database d LEFT JOIN pg_stat_database s ON s.datid = d.oid
      WHERE d.datname = $1`,
    [name],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    fingerprint: `oid ${row.oid}, size ${row.size}, counters ${row.counters}`,
    sizeBytes: Number(row.size),
    allowConnections: row.allow,
  };
}

export async function inspectRestored(conn: AdminConnection, name: string, tables: string[]) {
  const client = new pg.Client({
    connectionString: urlForDatabase(conn.url, name),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => {});
  await client.connect();
  try {
    // Frozen and analyzed now, autovacuum has nothing left to do in it: its fingerprint stays as recorded.
    await client.query('VACUUM (FREEZE, ANALYZE)');
    const rowCounts: Record<string, number> = {};
    for (const table of tables) {
      if (!DUMPED_TABLE.test(table)) throw new Error(`the dump names a table oddly: ${table.slice(0, 200)}`);
      const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${table}`);
      rowCounts[table] = Number(rows[0]?.n ?? 0);
    }
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'`,
    );
    return { rowCounts, tables: rows[0]?.n ?? 0, schemaVersion: await currentSchemaVersion(client) };
  } finally {
    await client.end().catch(() => {});
  }
}

export async function renameDatabase(conn: AdminConnection, from: string, to: string) {
  refuseProtected(from);
  for (let attempt = 1; ; attempt += 1) {
    // ALTER DATABASE ... RENAME fails while anyone is connected; a pool may reconnect in between, hence the retries.
    // Only sessions this role may end are terminated: asking for others (a superuser's psql) is an error.
    await conn.query(TERMINATE_SIGNALABLE, [from]);
    const blockers = await conn.query<{ who: string }>(UNSIGNALABLE, [from]);
    if (blockers.rows.length > 0)
      throw sessionsInTheWay(from, to, blockers.rows.map((r) => r.who).join(', '));
    try {
      await conn.query(`ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== OBJECT_IN_USE || attempt >= RENAME_ATTEMPTS) {
        throw new AppError(
          'DB.RENAME_FAILED',
          'failed',
          `Could not rename database '${from}' to '${to}': ${describe(error)}`,
          {
            cause: error,
            suggestion:
              code === OBJECT_IN_USE
                ? 'Something keeps connecting to it; stop other clients of this database and try again.'
                : 'The database role needs to own the database and hold CREATEDB.',
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** (attempt - 1)));
    }
  }
}
