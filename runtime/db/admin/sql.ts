// What the parts of DatabaseAdmin share: the maintenance connection, identifiers quoted safely, and the SQL that finds
// the sessions on a database (those this role may end, and those it may not).
import type pg from 'pg';
import { AppError } from '../../../handlers/errors';
import type { Logger } from '../../../handlers/ports/logger';
import { maskSecrets } from '../../observability/mask';

/** The server's database and the small pool on the maintenance database every statement runs from. */
export interface AdminConnection {
  url: string;
  databaseName: string;
  maintenanceUrl: string;
  logger: Logger;
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<T>>;
}

export const MAINTENANCE_DATABASE = 'postgres';

/** "a"b" -> "a""b": a safe SQL identifier whatever the name holds. */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('A database name cannot contain a NUL character.');
  return `"${name.replace(/"/g, '""')}"`;
}

/** LIKE pattern that matches names starting with prefix literally (with ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** "15.20 (Debian 15.20-1.pgdg120+1)" -> "15.20". */
export function parseServerVersion(raw: string): string {
  return /^\d+(?:\.\d+)?/.exec(raw.trim())?.[0] ?? raw.trim();
}

/** The same server and credentials, connected to another database. */
export function urlForDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** schema.table as pg_dump writes it after COPY: plain lower-case identifiers or double-quoted ones, nothing else. */
export const IDENT = '(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")';
export const DUMPED_TABLE = new RegExp(`^${IDENT}\\.${IDENT}$`);

export const PROTECTED = new Set([MAINTENANCE_DATABASE, 'template0', 'template1']);
export const OBJECT_IN_USE = '55006';
/** Sessions ended just before a rename take a few milliseconds to go: retried after 10, 20, 40 ... 640 ms (1.3 s). */
export const RENAME_ATTEMPTS = 8;

/** Sessions on a database that this role may end: its own roles' sessions, or any non-superuser's with pg_signal_backend. */
const SIGNALABLE = `(
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    OR (r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER'))
    OR (r.oid IS NOT NULL AND NOT r.rolsuper AND pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))
  )`;
// Sessions without a role are autovacuum workers, which PostgreSQL ends itself before a rename.
const OTHER_SESSIONS = `FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
  WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL`;
export const TERMINATE_SIGNALABLE = `SELECT pg_terminate_backend(a.pid) ${OTHER_SESSIONS} AND ${SIGNALABLE}`;
/**
 * The signalable sessions on $1 that started before $2 (or whose start this role may not see: another role's session
 * ended through pg_signal_backend). PostgreSQL reads a database's settings when a session starts,
 * so these are the sessions that still hold the default from before a change of default_transaction_read_only.
 */
export const TERMINATE_BEGUN_BEFORE = `${TERMINATE_SIGNALABLE} AND (a.backend_start < $2::timestamptz OR a.backend_start IS NULL)`;
export const READ_ONLY_SETTING = 'default_transaction_read_only';
/** A session loads the settings a moment before it is listed in pg_stat_activity: a second sweep catches it. */
export const SECOND_SWEEP_MS = 50;
/** Who is connected that this role may not end (PostgreSQL would wait 5 s per rename attempt before refusing). */
export const UNSIGNALABLE = `SELECT coalesce(a.usename, 'unknown') || ' (' || count(*) || ')' AS who
  ${OTHER_SESSIONS} AND NOT ${SIGNALABLE} GROUP BY a.usename`;

export function sessionsInTheWay(from: string, to: string, who: string): AppError {
  return new AppError(
    'DB.RENAME_FAILED',
    'failed',
    `Could not rename database '${from}' to '${to}': sessions that the server's role may not end are connected (${who}).`,
    {
      suggestion:
        'Disconnect them, or grant the server role pg_signal_backend (for non-superuser sessions), and try again.',
    },
  );
}

export function refuseProtected(name: string): void {
  if (PROTECTED.has(name)) {
    throw new AppError(
      'DB.PROTECTED_DATABASE',
      'invalid',
      `Refusing to drop or rename the database '${name}'.`,
    );
  }
}

export function describe(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}
