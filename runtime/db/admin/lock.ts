// DatabaseLock over pg: cluster-wide advisory locks, each on a session of its own to `postgres` (a restore ends and
// renames sessions of the server's database, which would drop a lock held there mid-restore).
import pg from 'pg';
import type { DatabaseLock, LockLease } from '../../../handlers/ports/database-admin';
import { maskSecrets } from '../../observability/mask';
import type { AdminConnection } from './sql';

export function databaseLock(conn: AdminConnection): DatabaseLock {
  return {
    databaseName: conn.databaseName,
    tryWithLock: (name, fn) => tryWithLock(conn, name, fn),
  };
}

export async function tryWithLock<T>(
  conn: AdminConnection,
  name: string,
  fn: (lease: LockLease) => Promise<T>,
): Promise<{ acquired: true; value: T } | { acquired: false }> {
  // A connection of its own to `postgres`: a restore terminates and renames the server's database,
  // which would end a session-level lock held there in the middle of the restore it protects.
  // Held for as long as a dump or restore runs: TCP keepalive, and no idle_session_timeout ending it meanwhile.
  const client = new pg.Client({
    connectionString: conn.maintenanceUrl,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  let lost = false;
  client.on('error', (error) => {
    lost = true;
    conn.logger.error(
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
