// The restore swap's view of the server's own database: drain and reopen the pool, migrate what was restored.
import type { DatabaseLifecycle } from '../../handlers/ports/database-lifecycle';
import type { Logger } from '../../handlers/ports/logger';
import pg from 'pg';
import { urlForDatabase } from './admin';
import type { DbHandle } from './handle';
import { migrate } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations/index';
import { carryOperationsInto } from './operations-store';
import { adminsThroughRestore, carryRoleRemovals } from './security-state';
import { ADMIN_ROLE } from '../../handlers/accounts/permissions';
import { carryNotificationsFrom } from './notify-store';
import { carryOffsiteStateFrom } from './offsite-state';

export function createDatabaseLifecycle(deps: { db: DbHandle; logger: Logger }): DatabaseLifecycle {
  const { db, logger } = deps;
  /** Set by carrySignaturesAhead: the carry-over inside the swap then takes only the signatures seen since. */
  let ahead: { database: string; newestExpiry: Date | null } | null = null;
  return {
    drainPool: () => db.drain(),
    reopenPool: async () => db.reopen(),
    // A backup older than this build is brought forward; a newer one was refused before the swap.
    migrate: () => migrate(db.pool(), logger),
    knownSchemaVersion: LATEST_SCHEMA_VERSION,
    carrySignaturesAhead: async (restored) => {
      ahead = null;
      const { rows } = await db.query<{ digest: string; expires_at: Date }>(
        'SELECT digest, expires_at FROM seen_signatures WHERE expires_at > now()',
      );
      const target = new pg.Client({ connectionString: urlForDatabase(db.url, restored) });
      target.on('error', () => {});
      await target.connect();
      try {
        if (!(await hasTable(target, 'seen_signatures'))) return 0; // an older schema: the swap carries them all
        const count = await insertSignatures(target, rows);
        const newest = rows.reduce<Date | null>(
          (m, r) => (m === null || r.expires_at > m ? r.expires_at : m),
          null,
        );
        ahead = { database: restored, newestExpiry: newest };
        logger.info(
          `Carried ${count} recently seen signature(s) (replay guard) into '${restored}' ahead of the swap.`,
        );
        return count;
      } finally {
        await target.end();
      }
    },
    carryOverFrom: async (previous) => {
      // Only what was seen after the carry ahead of the swap (a second's overlap, and duplicates are skipped): the
      // swap answers nothing meanwhile, and a busy server has tens of thousands of signatures in its window.
      const newest = ahead ? (ahead.newestExpiry?.getTime() ?? 0) : null;
      const since = newest === null ? null : new Date(newest - 1000);
      ahead = null;
      // READ WRITE: the restored database is still read-only for every replica until the restore is over.
      const carried = await withSource(db, previous, (source) =>
        db.writeThroughReadOnly(async (target) => ({
          signatures: await carrySeenSignatures(target, source, since),
          ...(await carrySecurityState(target, source)),
          removedRoles: await carryRoleRemovals(target, source),
        })),
      );
      logger.info(
        `Carried over from the replaced database: ${carried.signatures} recently seen signature(s) (replay guard), ` +
          `${carried.revokedKeys} key revocation(s), ${carried.deniedUsers} denial(s) and ${carried.removedRoles} ` +
          'role removal(s) made after the backup was taken.',
      );
      // The operations history (the running restore's own record among them) belongs to the server, not the backup.
      await withSource(db, previous, (source) => carryOperations(db, source)).catch((error: unknown) =>
        logger.warn(
          `Could not carry the operations history over into the restored database: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      await withSource(db, previous, (source) => carryNotificationsFrom(db, source)).catch((error: unknown) =>
        logger.warn(
          `Could not carry the waiting notifications over into the restored database: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      await withSource(db, previous, (source) =>
        db.writeThroughReadOnly((target) => carryOffsiteStateFrom(target, source)),
      ).catch((error: unknown) =>
        logger.warn(
          `Could not carry the off-site state over into the restored database: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      return carried.signatures + carried.revokedKeys + carried.deniedUsers + carried.removedRoles;
    },
    adminsThroughRestore: async (restored) => {
      const live = await db.pool().connect();
      try {
        return await withSource(db, restored, (copy) => adminsThroughRestore(copy, live, ADMIN_ROLE));
      } finally {
        live.release();
      }
    },
  };
}

async function withSource<T>(
  db: DbHandle,
  previous: string,
  fn: (source: pg.Client) => Promise<T>,
): Promise<T> {
  const source = new pg.Client({ connectionString: urlForDatabase(db.url, previous) });
  source.on('error', () => {}); // a dropped connection fails the query below; it must not crash the process
  await source.connect();
  try {
    return await fn(source);
  } finally {
    await source.end();
  }
}

async function hasTable(source: pg.Client, table: string): Promise<boolean> {
  const { rows } = await source.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [
    `public.${table}`,
  ]);
  return Boolean(rows[0]?.t);
}

/**
 * Security state only moves forward through a restore: a key revoked or a user denied in the replaced database
 * (after the backup was taken) stays revoked or denied in the restored one. Keys are matched by user and public key.
 */
async function carrySecurityState(
  target: pg.ClientBase,
  source: pg.Client,
): Promise<{ revokedKeys: number; deniedUsers: number }> {
  if (!(await hasTable(source, 'user_keys')) || !(await hasTable(source, 'users'))) {
    return { revokedKeys: 0, deniedUsers: 0 };
  }
  const revoked = await source.query<{ user_name: string; public_key: string; revoked_at: Date }>(
    'SELECT user_name, public_key, revoked_at FROM user_keys WHERE revoked_at IS NOT NULL',
  );
  const denied = await source.query<{ name: string; updated_at: Date }>(
    `SELECT name, updated_at FROM users WHERE status = 'DENIED'`,
  );
  const keys = await target.query(
    `UPDATE user_keys k SET revoked_at = r.revoked_at
     FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS r(user_name, public_key, revoked_at)
     WHERE k.user_name = r.user_name AND k.public_key = r.public_key AND k.revoked_at IS NULL`,
    [
      revoked.rows.map((r) => r.user_name),
      revoked.rows.map((r) => r.public_key),
      revoked.rows.map((r) => r.revoked_at),
    ],
  );
  const users = await target.query(
    `UPDATE users u SET status = 'DENIED', updated_at = d.updated_at
     FROM unnest($1::text[], $2::timestamptz[]) AS d(name, updated_at)
     WHERE u.name = d.name AND u.status <> 'DENIED'`,
    [denied.rows.map((r) => r.name), denied.rows.map((r) => r.updated_at)],
  );
  return { revokedKeys: keys.rowCount ?? 0, deniedUsers: users.rowCount ?? 0 };
}

async function carryOperations(db: DbHandle, source: pg.Client): Promise<void> {
  if (!(await hasTable(source, 'operations'))) return;
  const { rows } = await source.query<{ row: Record<string, unknown> }>(
    'SELECT row_to_json(o) AS row FROM operations o',
  );
  await carryOperationsInto(
    db,
    rows.map((r) => r.row),
  );
}

/** Replay protection lives in the database; without this a restore would forget the signatures of the last minutes. */
async function carrySeenSignatures(
  target: pg.ClientBase,
  source: pg.Client,
  /** Only those expiring from then on (seen after the carry ahead of the swap); null: all. */
  since: Date | null,
): Promise<number> {
  if (!(await hasTable(source, 'seen_signatures'))) return 0;
  const { rows } = await source.query<{ digest: string; expires_at: Date }>(
    'SELECT digest, expires_at FROM seen_signatures WHERE expires_at > now() AND ($1::timestamptz IS NULL OR expires_at >= $1)',
    [since],
  );
  return insertSignatures(target, rows);
}

async function insertSignatures(
  target: pg.ClientBase,
  rows: readonly { digest: string; expires_at: Date }[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await target.query(
    `INSERT INTO seen_signatures (digest, expires_at)
     SELECT * FROM unnest($1::text[], $2::timestamptz[]) ON CONFLICT (digest) DO NOTHING`,
    [rows.map((r) => r.digest), rows.map((r) => r.expires_at)],
  );
  return result.rowCount ?? 0;
}
