// ReadOnlySwitch over pg: the database's default_transaction_read_only, and the sessions begun before a change ended.
import { AppError } from '../../../handlers/errors';
import type { ReadOnlySwitch } from '../../../handlers/ports/database-admin';
import {
  READ_ONLY_SETTING,
  SECOND_SWEEP_MS,
  TERMINATE_BEGUN_BEFORE,
  UNSIGNALABLE,
  quoteIdent,
  refuseProtected,
  type AdminConnection,
} from './sql';

export function readOnlySwitch(conn: AdminConnection): ReadOnlySwitch {
  return {
    databaseName: conn.databaseName,
    refuseWrites: (name) => refuseWrites(conn, name),
    allowWrites: (name) => allowWrites(conn, name),
    refusesWrites: (name) => refusesWrites(conn, name),
  };
}

export async function refuseWrites(conn: AdminConnection, name: string) {
  refuseProtected(name);
  await conn.query(`ALTER DATABASE ${quoteIdent(name)} SET ${READ_ONLY_SETTING} = on`);
  const kept = await endSessionsBegunBefore(conn, name);
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
}

export async function allowWrites(conn: AdminConnection, name: string) {
  await conn.query(`ALTER DATABASE ${quoteIdent(name)} RESET ${READ_ONLY_SETTING}`);
  await endSessionsBegunBefore(conn, name);
}

export async function refusesWrites(conn: AdminConnection, name: string) {
  const { rows } = await conn.query<{ on: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
       WHERE d.datname = $1 AND s.setrole = 0 AND $2 = ANY (s.setconfig)) AS on`,
    [name, `${READ_ONLY_SETTING}=on`],
  );
  return rows[0]?.on === true;
}

/**
 * Ends the sessions that began before now (after a settings change): a write in flight on one is rolled back, and
 * pools reconnect on their next query with the database's new default. Returns who is connected from before that
 * this role may not end (they keep the old default).
 */
async function endSessionsBegunBefore(conn: AdminConnection, name: string): Promise<string | null> {
  const { rows } = await conn.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  const since = rows[0]?.now;
  await conn.query(TERMINATE_BEGUN_BEFORE, [name, since]);
  await new Promise((resolve) => setTimeout(resolve, SECOND_SWEEP_MS));
  await conn.query(TERMINATE_BEGUN_BEFORE, [name, since]);
  // Their start is hidden from a role that is not theirs (pg_stat_activity shows it as null): all of them count.
  const kept = await conn.query<{ who: string }>(UNSIGNALABLE, [name]);
  return kept.rows.length > 0 ? kept.rows.map((r) => r.who).join(', ') : null;
}
