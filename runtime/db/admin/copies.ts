// DatabaseCopies over pg: the scratch, set-aside and standby databases next to the server's own.
import { AppError } from '../../../handlers/errors';
import type { DatabaseCopies } from '../../../handlers/ports/database-admin';
import { currentSchemaVersion } from '../migrate';
import { contentDigest, foreignWrites, openSealed } from './sealed-copy';
import { HAND_OVER_COMMENT } from '../../executor/load-login';
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
    clearHandOverMark: (name) => clearHandOverMark(conn, name),
  };
}

async function clearHandOverMark(conn: AdminConnection, name: string): Promise<void> {
  const { rows } = await conn.query<{ d: string | null }>(
    `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = $1`,
    [name],
  );
  if (rows[0]?.d?.startsWith(HAND_OVER_COMMENT))
    await conn.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS NULL`);
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
  // Read without connecting to it: the oid changes with a drop and re-create under the same name; the row's xmin
  // with every ALTER DATABASE (letting sessions in needs one), not with autovacuum's in-place updates or freezing.
  const { rows } = await conn.query<{ oid: string; seal: string; allow: boolean; size: string }>(
    `SELECT d.oid::text AS oid, d.xmin::text AS seal, d.datallowconn AS allow, pg_database_size(d.oid)::text AS size
       FROM pg_database d WHERE d.datname = $1`,
    [name],
  );
  const row = rows[0];
  if (!row) return null;
  return { oid: row.oid, seal: row.seal, sizeBytes: Number(row.size), allowConnections: row.allow };
}

export async function inspectRestored(conn: AdminConnection, name: string, tables: string[]) {
  // Shut to everyone but this session before anything is read: nothing written from now on goes unseen, and what
  // another session wrote since the load's commit shows as a foreign write.
  const client = await openSealed(conn, name, { open: false });
  try {
    const before = await contentDigest(client);
    const foreign = await foreignWrites(client, before.relations);
    if (foreign) throw new Error(`another session changed the restored copy: ${foreign}`);
    // Frozen and analyzed now, autovacuum has nothing left to do in it (the digest ignores it anyway).
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
    const after = await contentDigest(client);
    if (after.digest !== before.digest) throw new Error('the restored copy changed while it was checked');
    return {
      rowCounts,
      tables: rows[0]?.n ?? 0,
      schemaVersion: await currentSchemaVersion(client),
      contentDigest: after.digest,
    };
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
