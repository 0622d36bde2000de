// DatabaseInfo over pg: facts about the server's database and its PostgreSQL server, read from `postgres`.
import { statfs } from 'node:fs/promises';
import pg from 'pg';
import { AppError } from '../../../handlers/errors';
import type { DatabaseInfo } from '../../../handlers/ports/database-admin';
import { currentSchemaVersion } from '../migrate';
import { parseServerVersion, UNSIGNALABLE, type AdminConnection } from './sql';

export function databaseInfo(conn: AdminConnection): DatabaseInfo {
  return {
    databaseName: conn.databaseName,
    serverVersion: () => serverVersion(conn),
    databaseSizeBytes: () => databaseSizeBytes(conn),
    schemaVersion: () => schemaVersion(conn),
    canCreateDatabases: () => canCreateDatabases(conn),
    swapObstacles: () => swapObstacles(conn),
    databaseLocale: () => databaseLocale(conn),
    liveRowCounts: () => liveRowCounts(conn),
    dataDirectoryFreeBytes: () => dataDirectoryFreeBytes(conn),
  };
}

export async function serverVersion(conn: AdminConnection) {
  const { rows } = await conn.query<{ server_version: string }>('SHOW server_version');
  return parseServerVersion(rows[0]?.server_version ?? '');
}

export async function databaseSizeBytes(conn: AdminConnection) {
  const { rows } = await conn.query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [
    conn.databaseName,
  ]);
  return Number(rows[0]?.size ?? 0);
}

export async function schemaVersion(conn: AdminConnection) {
  // The one statement that needs the server's own database: the version is a table inside it.
  const client = new pg.Client({ connectionString: conn.url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await currentSchemaVersion(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function liveRowCounts(conn: AdminConnection) {
  const client = new pg.Client({ connectionString: conn.url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of rows) {
      const counted = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${name}`);
      counts[name] = Number(counted.rows[0]?.n ?? 0);
    }
    return counts;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function canCreateDatabases(conn: AdminConnection) {
  const { rows } = await conn.query<{ can: boolean }>(
    'SELECT (rolcreatedb OR rolsuper) AS can FROM pg_roles WHERE rolname = current_user',
  );
  return rows[0]?.can ?? false;
}

export async function swapObstacles(conn: AdminConnection) {
  const { rows } = await conn.query<{ role: string; owner: string; owns: boolean; createdb: boolean }>(
    `SELECT current_user AS role, pg_get_userbyid(d.datdba) AS owner,
       (r.rolsuper OR pg_has_role(current_user, d.datdba, 'USAGE')) AS owns, (r.rolsuper OR r.rolcreatedb) AS createdb
     FROM pg_database d, pg_roles r WHERE d.datname = $1 AND r.rolname = current_user`,
    [conn.databaseName],
  );
  const row = rows[0];
  if (!row)
    throw new AppError('DB.NOT_FOUND', 'failed', `The database '${conn.databaseName}' does not exist.`);
  const missingPrivileges: string[] = [];
  if (!row.owns)
    missingPrivileges.push(
      `the role '${row.role}' does not own the database '${conn.databaseName}' (its owner is '${row.owner}'), which renaming it needs`,
    );
  if (!row.createdb) missingPrivileges.push(`the role '${row.role}' may not create databases (no CREATEDB)`);
  const blockers = await conn.query<{ who: string }>(UNSIGNALABLE, [conn.databaseName]);
  const blockingSessions = blockers.rows.length > 0 ? blockers.rows.map((r) => r.who).join(', ') : null;
  return { missingPrivileges, blockingSessions };
}

export async function databaseLocale(conn: AdminConnection) {
  // to_jsonb: the column names differ between majors (daticulocale up to 16, datlocale from 17).
  const { rows } = await conn.query<{ encoding: string; d: Record<string, string | null> }>(
    'SELECT pg_encoding_to_char(d.encoding) AS encoding, to_jsonb(d) AS d FROM pg_database d WHERE datname = $1',
    [conn.databaseName],
  );
  const row = rows[0];
  if (!row)
    throw new AppError('DB.NOT_FOUND', 'failed', `The database '${conn.databaseName}' does not exist.`);
  const icu = row.d.datlocprovider === 'i';
  return {
    encoding: row.encoding,
    collate: row.d.datcollate ?? 'C',
    ctype: row.d.datctype ?? 'C',
    provider: icu ? ('icu' as const) : ('libc' as const),
    icuLocale: icu ? (row.d.daticulocale ?? row.d.datlocale ?? null) : null,
  };
}

export async function dataDirectoryFreeBytes(conn: AdminConnection) {
  try {
    // Readable by superusers and pg_read_all_settings only; a remote server's path is not on this machine.
    const { rows } = await conn.query<{ dir: string | null }>(
      `SELECT current_setting('data_directory', true) AS dir`,
    );
    const dir = rows[0]?.dir;
    if (!dir) return null;
    const info = await statfs(dir);
    return info.bavail * info.bsize;
  } catch {
    return null;
  }
}
