// The bench databases on the machine's PostgreSQL: pgbench data, template copies, sizes, and dropping by prefix.
import pg from 'pg';
import { pgEnv, runOk } from './processes';

function maintenanceUrl(database = 'postgres'): string {
  const env = pgEnv();
  return `postgres://${env.PGUSER}@${env.PGHOST}:${env.PGPORT}/${database}`;
}

export function databaseUrl(database: string): string {
  return maintenanceUrl(database);
}

export async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: maintenanceUrl() });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** createdb, then pgbench -i at the scale; returns how long the data took to generate. */
export async function createPgbenchDatabase(name: string, scale: number): Promise<number> {
  await query(`CREATE DATABASE ${quoted(name)}`);
  return (await runOk('pgbench', ['-i', '-s', String(scale), '--quiet', name])).ms;
}

/** A same-size copy, so that the first timed dropdb of a baseline drops as much as the later ones. */
export async function copyDatabase(template: string, name: string): Promise<void> {
  await query(`CREATE DATABASE ${quoted(name)} TEMPLATE ${quoted(template)} STRATEGY FILE_COPY`);
}

export async function databaseBytes(name: string): Promise<number> {
  const rows = await query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [name]);
  return Number(rows[0]?.size ?? 0);
}

/** Drops every database whose name starts with prefix: ours, and the server's scratch and renamed-aside copies. */
export async function dropDatabasesWithPrefix(prefix: string): Promise<string[]> {
  const like = prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
  const rows = await query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
    like,
  ]);
  for (const { datname } of rows) await query(`DROP DATABASE IF EXISTS ${quoted(datname)} WITH (FORCE)`);
  return rows.map((r) => r.datname);
}

export async function serverVersion(): Promise<string> {
  return (await query<{ v: string }>("SELECT current_setting('server_version') AS v"))[0]?.v ?? 'unknown';
}

/**
 * Untimed, before every timed step: flush the OS page cache (sync) and PostgreSQL's dirty buffers (CHECKPOINT).
 * Otherwise a step pays for its predecessor's writes: DROP DATABASE forces a checkpoint, which would flush the
 * previous contender's freshly restored data, and the kernel would write back the previous dump file meanwhile.
 */
export async function settle(): Promise<void> {
  await runOk('sync', []);
  await query('CHECKPOINT');
}
