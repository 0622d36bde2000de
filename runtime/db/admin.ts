// DatabaseAdmin over pg: every statement runs from the maintenance database `postgres`, never from the server's own.
import { statfs } from 'node:fs/promises';
import pg from 'pg';
import { AppError } from '../../handlers/errors';
import type { DatabaseAdmin, LockLease } from '../../handlers/ports/database-admin';
import type { Logger } from '../../handlers/ports/logger';
import { maskSecrets } from '../observability/mask';
import { databaseNameOf } from './handle';
import { currentSchemaVersion } from './migrate';

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
const IDENT = '(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")';
const DUMPED_TABLE = new RegExp(`^${IDENT}\\.${IDENT}$`);

const PROTECTED = new Set([MAINTENANCE_DATABASE, 'template0', 'template1']);
const OBJECT_IN_USE = '55006';
/** Sessions ended just before a rename take a few milliseconds to go: retried after 10, 20, 40 ... 640 ms (1.3 s). */
const RENAME_ATTEMPTS = 8;

export interface DatabaseAdminHandle extends DatabaseAdmin {
  close(): Promise<void>;
}

/** Sessions on a database that this role may end: its own roles' sessions, or any non-superuser's with pg_signal_backend. */
const SIGNALABLE = `(
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
    OR (r.oid IS NOT NULL AND pg_has_role(current_user, r.oid, 'MEMBER'))
    OR (r.oid IS NOT NULL AND NOT r.rolsuper AND pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))
  )`;
// Sessions without a role are autovacuum workers, which PostgreSQL ends itself before a rename.
const OTHER_SESSIONS = `FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
  WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL`;
const TERMINATE_SIGNALABLE = `SELECT pg_terminate_backend(a.pid) ${OTHER_SESSIONS} AND ${SIGNALABLE}`;
/**
 * The signalable sessions on $1 that started before $2 (or whose start this role may not see: another role's session
 * ended through pg_signal_backend). PostgreSQL reads a database's settings when a session starts,
 * so these are the sessions that still hold the default from before a change of default_transaction_read_only.
 */
const TERMINATE_BEGUN_BEFORE = `${TERMINATE_SIGNALABLE} AND (a.backend_start < $2::timestamptz OR a.backend_start IS NULL)`;
const READ_ONLY_SETTING = 'default_transaction_read_only';
/** A session loads the settings a moment before it is listed in pg_stat_activity: a second sweep catches it. */
const SECOND_SWEEP_MS = 50;
/** Who is connected that this role may not end (PostgreSQL would wait 5 s per rename attempt before refusing). */
const UNSIGNALABLE = `SELECT coalesce(a.usename, 'unknown') || ' (' || count(*) || ')' AS who
  ${OTHER_SESSIONS} AND NOT ${SIGNALABLE} GROUP BY a.usename`;

function sessionsInTheWay(from: string, to: string, who: string): AppError {
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

export function createDatabaseAdmin(options: { url: string; logger: Logger }): DatabaseAdminHandle {
  const { url, logger } = options;
  const databaseName = databaseNameOf(url);
  const maintenanceUrl = urlForDatabase(url, MAINTENANCE_DATABASE);
  // Small: these statements are rare; the advisory lock gets a connection of its own (see tryWithLock).
  const pool = new pg.Pool({
    connectionString: maintenanceUrl,
    max: 2,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
  });
  pool.on('error', (error) => logger.debug(`Maintenance connection lost: ${maskSecrets(error.message)}`));

  const query = <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    pool.query<T>(sql, params);

  // Ends the sessions that began before now (after a settings change): a write in flight on one is rolled back, and
  // pools reconnect on their next query with the database's new default.
  // Returns who is connected from before that this role may not end (they keep the old default).
  const endSessionsBegunBefore = async (name: string): Promise<string | null> => {
    const { rows } = await query<{ now: string }>('SELECT clock_timestamp()::text AS now');
    const since = rows[0]?.now;
    await query(TERMINATE_BEGUN_BEFORE, [name, since]);
    await new Promise((resolve) => setTimeout(resolve, SECOND_SWEEP_MS));
    await query(TERMINATE_BEGUN_BEFORE, [name, since]);
    // Their start is hidden from a role that is not theirs (pg_stat_activity shows it as null): all of them count.
    const kept = await query<{ who: string }>(UNSIGNALABLE, [name]);
    return kept.rows.length > 0 ? kept.rows.map((r) => r.who).join(', ') : null;
  };

  const refuseProtected = (name: string) => {
    if (PROTECTED.has(name)) {
      throw new AppError(
        'DB.PROTECTED_DATABASE',
        'invalid',
        `Refusing to drop or rename the database '${name}'.`,
      );
    }
  };

  return {
    databaseName,

    async serverVersion() {
      const { rows } = await query<{ server_version: string }>('SHOW server_version');
      return parseServerVersion(rows[0]?.server_version ?? '');
    },

    async databaseSizeBytes() {
      const { rows } = await query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [
        databaseName,
      ]);
      return Number(rows[0]?.size ?? 0);
    },

    async schemaVersion() {
      // The one statement that needs the server's own database: the version is a table inside it.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      client.on('error', () => {});
      await client.connect();
      try {
        return await currentSchemaVersion(client);
      } finally {
        await client.end().catch(() => {});
      }
    },

    async canCreateDatabases() {
      const { rows } = await query<{ can: boolean }>(
        'SELECT (rolcreatedb OR rolsuper) AS can FROM pg_roles WHERE rolname = current_user',
      );
      return rows[0]?.can ?? false;
    },

    async swapObstacles() {
      const { rows } = await query<{ role: string; owner: string; owns: boolean; createdb: boolean }>(
        `SELECT current_user AS role, pg_get_userbyid(d.datdba) AS owner,
           (r.rolsuper OR pg_has_role(current_user, d.datdba, 'USAGE')) AS owns, (r.rolsuper OR r.rolcreatedb) AS createdb
         FROM pg_database d, pg_roles r WHERE d.datname = $1 AND r.rolname = current_user`,
        [databaseName],
      );
      const row = rows[0];
      if (!row)
        throw new AppError('DB.NOT_FOUND', 'failed', `The database '${databaseName}' does not exist.`);
      const missingPrivileges: string[] = [];
      if (!row.owns)
        missingPrivileges.push(
          `the role '${row.role}' does not own the database '${databaseName}' (its owner is '${row.owner}'), which renaming it needs`,
        );
      if (!row.createdb)
        missingPrivileges.push(`the role '${row.role}' may not create databases (no CREATEDB)`);
      const blockers = await query<{ who: string }>(UNSIGNALABLE, [databaseName]);
      const blockingSessions = blockers.rows.length > 0 ? blockers.rows.map((r) => r.who).join(', ') : null;
      return { missingPrivileges, blockingSessions };
    },

    async databaseLocale() {
      // to_jsonb: the column names differ between majors (daticulocale up to 16, datlocale from 17).
      const { rows } = await query<{ encoding: string; d: Record<string, string | null> }>(
        'SELECT pg_encoding_to_char(d.encoding) AS encoding, to_jsonb(d) AS d FROM pg_database d WHERE datname = $1',
        [databaseName],
      );
      const row = rows[0];
      if (!row)
        throw new AppError('DB.NOT_FOUND', 'failed', `The database '${databaseName}' does not exist.`);
      const icu = row.d.datlocprovider === 'i';
      return {
        encoding: row.encoding,
        collate: row.d.datcollate ?? 'C',
        ctype: row.d.datctype ?? 'C',
        provider: icu ? 'icu' : 'libc',
        icuLocale: icu ? (row.d.daticulocale ?? row.d.datlocale ?? null) : null,
      };
    },

    async databaseExists(name) {
      const { rowCount } = await query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return (rowCount ?? 0) > 0;
    },

    async listDatabases(prefix) {
      const { rows } = await query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\' ORDER BY datname`,
        [likePrefix(prefix)],
      );
      return rows.map((r) => r.datname);
    },

    async dropDatabase(name) {
      refuseProtected(name);
      await query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    },

    async dataDirectoryFreeBytes() {
      try {
        // Readable by superusers and pg_read_all_settings only; a remote server's path is not on this machine.
        const { rows } = await query<{ dir: string | null }>(
          `SELECT current_setting('data_directory', true) AS dir`,
        );
        const dir = rows[0]?.dir;
        if (!dir) return null;
        const info = await statfs(dir);
        return info.bavail * info.bsize;
      } catch {
        return null;
      }
    },

    async setAllowConnections(name, allow) {
      refuseProtected(name);
      await query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
    },

    async databaseState(name) {
      // The counters move with every transaction and row written in that database, the oid with a drop and
      // re-create under the same name; a stats reset changes stats_reset, so it reads as "changed" too.
      const { rows } = await query<{
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
    },

    async inspectRestored(name, tables) {
      const client = new pg.Client({
        connectionString: urlForDatabase(url, name),
        connectionTimeoutMillis: 10_000,
      });
      client.on('error', () => {});
      await client.connect();
      try {
        // Frozen and analyzed now, autovacuum has nothing left to do in it: its fingerprint stays as recorded.
        await client.query('VACUUM (FREEZE, ANALYZE)');
        const rowCounts: Record<string, number> = {};
        for (const table of tables) {
          if (!DUMPED_TABLE.test(table))
            throw new Error(`the dump names a table oddly: ${table.slice(0, 200)}`);
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
    },

    async renameDatabase(from, to) {
      refuseProtected(from);
      for (let attempt = 1; ; attempt += 1) {
        // ALTER DATABASE ... RENAME fails while anyone is connected; a pool may reconnect in between, hence the retries.
        // Only sessions this role may end are terminated: asking for others (a superuser's psql) is an error.
        await query(TERMINATE_SIGNALABLE, [from]);
        const blockers = await query<{ who: string }>(UNSIGNALABLE, [from]);
        if (blockers.rows.length > 0)
          throw sessionsInTheWay(from, to, blockers.rows.map((r) => r.who).join(', '));
        try {
          await query(`ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`);
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
    },

    async refuseWrites(name) {
      refuseProtected(name);
      await query(`ALTER DATABASE ${quoteIdent(name)} SET ${READ_ONLY_SETTING} = on`);
      const kept = await endSessionsBegunBefore(name);
      // Such a session could still write, and its write would be lost in the swap: the restore must not go on.
      if (kept !== null) {
        throw new AppError(
          'BACKUP.SESSIONS_IN_THE_WAY',
          'conflict',
          `Could not make '${name}' read-only for the restore: sessions that the server's role may not end are connected (${kept}).`,
          {
            suggestion:
              'Disconnect them (e.g. a superuser psql), or grant the server role pg_signal_backend for non-superuser sessions, and try again.',
            retryAfterSeconds: 10,
          },
        );
      }
    },

    async allowWrites(name) {
      await query(`ALTER DATABASE ${quoteIdent(name)} RESET ${READ_ONLY_SETTING}`);
      await endSessionsBegunBefore(name);
    },

    async refusesWrites(name) {
      const { rows } = await query<{ on: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE d.datname = $1 AND s.setrole = 0 AND $2 = ANY (s.setconfig)) AS on`,
        [name, `${READ_ONLY_SETTING}=on`],
      );
      return rows[0]?.on === true;
    },

    async tryWithLock(name, fn) {
      // A connection of its own to `postgres`: a restore terminates and renames the server's database,
      // which would end a session-level lock held there in the middle of the restore it protects.
      // Held for as long as a dump or restore runs: TCP keepalive, and no idle_session_timeout ending it meanwhile.
      const client = new pg.Client({
        connectionString: maintenanceUrl,
        connectionTimeoutMillis: 10_000,
        keepAlive: true,
      });
      let lost = false;
      client.on('error', (error) => {
        lost = true;
        logger.error(
          `The connection holding the backup lock '${name}' failed (${maskSecrets(error.message)}): ` +
            'the operation stops before its next irreversible step.',
        );
      });
      client.on('end', () => (lost = true));
      const lease: LockLease = {
        held: async () => (lost ? false : await stillHolds(client).catch(() => false)),
      };
      await client.connect();
      try {
        await client.query('SET idle_session_timeout = 0').catch(() => {}); // PostgreSQL 14+
        const { rows } = await client.query<{ acquired: boolean }>(
          'SELECT pg_try_advisory_lock(hashtext($1)) AS acquired',
          [name],
        );
        if (!rows[0]?.acquired) return { acquired: false };
        try {
          return { acquired: true, value: await fn(lease) };
        } finally {
          await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]).catch(() => {});
        }
      } finally {
        // Ending the session releases the lock too, should the unlock above have failed.
        await client.end().catch(() => {});
      }
    },

    close: () => pool.end(),
  };
}

const LEASE_CHECK_TIMEOUT_MS = 10_000;

/** Asks the lock's own session whether it still holds an advisory lock (it holds no other); a silent link counts as lost. */
async function stillHolds(client: pg.Client): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), LEASE_CHECK_TIMEOUT_MS);
  });
  const check = client
    .query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted) AS held`,
    )
    .then(({ rows }) => rows[0]?.held === true);
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return maskSecrets(error instanceof Error ? error.message : String(error));
}
