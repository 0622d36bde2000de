// What continuous protection needs from the PostgreSQL server, checked at start so that the log says exactly what is
// missing (wal_level, the REPLICATION attribute, the segment size) instead of a replication error later.
import pg from 'pg';
import { AppError } from '../../handlers/errors';
import type { Logger } from '../../handlers/ports/logger';
import { formatBytes } from '../../handlers/units';
import { MAINTENANCE_DATABASE, urlForDatabase } from '../db/admin/sql';

export interface ServerFacts {
  systemIdentifier: string;
  major: number;
  database: string;
  role: string;
  /** PostgreSQL's own bound on the WAL a slot keeps (max_slot_wal_keep_size), in bytes; null when unlimited (-1). */
  slotKeepBytes: number | null;
}

const problem = (message: string, suggestion: string) =>
  new AppError('PITR.SERVER_NOT_READY', 'misconfigured', message, { suggestion });

export async function checkServer(dbUrl: string): Promise<ServerFacts> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      wal_level: string;
      segment: string;
      major: string;
      system_identifier: string;
      role: string;
      database: string;
      replication: boolean;
      keep_mb: string;
    }>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('wal_segment_size') AS segment,
              current_setting('server_version_num')::int / 10000 AS major,
              (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
              current_user AS role, current_database() AS database,
              (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS replication,
              (SELECT setting FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS keep_mb`,
    );
    const facts = rows[0]!;
    if (facts.wal_level === 'minimal')
      throw problem(
        'Continuous protection needs wal_level = replica on the PostgreSQL server; it is minimal.',
        'Set wal_level = replica and max_wal_senders = 2 (at least) in postgresql.conf and restart PostgreSQL (docs/pitr.md).',
      );
    if (!facts.replication)
      throw problem(
        `Continuous protection needs the REPLICATION attribute for the role ${facts.role}; it lacks it.`,
        `Run ALTER ROLE "${facts.role}" REPLICATION; as a superuser, and add a pg_hba.conf line for the replication pseudo-database (docs/pitr.md).`,
      );
    if (facts.segment !== '16MB')
      throw problem(
        `Continuous protection handles 16 MB WAL segments only; this server uses ${facts.segment}.`,
        'Turn continuous off for this server.',
      );
    return {
      systemIdentifier: facts.system_identifier,
      major: Number(facts.major),
      database: facts.database,
      role: facts.role,
      slotKeepBytes: Number(facts.keep_mb) < 0 ? null : Number(facts.keep_mb) * 2 ** 20,
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Closes the current WAL segment (pg_switch_wal) and returns the name of the segment that holds everything written
 * before the call. Needs superuser or GRANT EXECUTE ON FUNCTION pg_switch_wal() to the role, in the maintenance
 * database `postgres`: the switch acts on the whole cluster from any database, and a grant in the server's own
 * database would be in its dumps, whose restore (as a role that is not a superuser) could not repeat it. With `mark`,
 * one WAL record goes first (a non-transactional logical message: no transaction id, allowed to any role and in a
 * read-only session), so that the switch closes a segment even when nothing was written since the last one.
 */
export async function switchWal(dbUrl: string, mark = false): Promise<string> {
  const client = new pg.Client({ connectionString: urlForDatabase(dbUrl, MAINTENANCE_DATABASE) });
  await client.connect();
  try {
    if (mark) await client.query("SELECT pg_logical_emit_message(false, 'bomnipotent', 'window mark')");
    const { rows } = await client.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
    return rows[0]!.file;
  } catch (error) {
    if ((error as { code?: string }).code !== '42501') throw error;
    const role = new URL(dbUrl).username;
    throw problem(
      `Continuous protection cannot close the WAL segment: ${(error as Error).message}.`,
      `Run GRANT EXECUTE ON FUNCTION pg_switch_wal() TO "${decodeURIComponent(role)}"; as a superuser in the database ${MAINTENANCE_DATABASE} (psql -d ${MAINTENANCE_DATABASE}), not in the server's own (docs/pitr.md).`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * max_held_wal is checked four times a second, so a sudden burst of writes can still take the slot past it by what one
 * check interval and the drop let through; PostgreSQL's own max_slot_wal_keep_size is the backstop (at each checkpoint,
 * and while this server is down). Says so at start when that is unlimited or above the
 * cap, with the line to set (the slot guard handles the slot PostgreSQL then gives up like one over the cap).
 */
export function warnUnboundedSlot(facts: ServerFacts, capBytes: number, logger: Logger): void {
  if (facts.slotKeepBytes !== null && facts.slotKeepBytes <= capBytes) return;
  const now = facts.slotKeepBytes === null ? 'unlimited (-1)' : formatBytes(facts.slotKeepBytes);
  logger.warn(
    `Continuous protection: max_held_wal (${formatBytes(capBytes)}) is checked four times a second, so a sudden burst of writes can take the replication slot past it by what one check lets through, and nothing checks it while this server is down; the database server's own bound, max_slot_wal_keep_size, is ${now}. For a bound the database server enforces itself (at each checkpoint), set max_slot_wal_keep_size = '${Math.floor(capBytes / 2 ** 20)}MB' on the database server (postgresql.conf, or ALTER SYSTEM as a superuser, then SELECT pg_reload_conf(); no restart) (docs/pitr.md).`,
  );
}
