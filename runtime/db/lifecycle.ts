// The restore swap's view of the server's own database: drain and reopen the pool, migrate what was restored.
import type { DatabaseLifecycle, Logger } from '../../handlers/ports';
import pg from 'pg';
import { urlForDatabase } from './admin';
import type { DbHandle } from './handle';
import { migrate } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations/index';
import { carryOperationsInto } from './operations-store';

export function createDatabaseLifecycle(deps: { db: DbHandle; logger: Logger }): DatabaseLifecycle {
  const { db, logger } = deps;
  return {
    drainPool: () => db.drain(),
    reopenPool: async () => db.reopen(),
    // A backup older than this build is brought forward; a newer one was refused before the swap.
    migrate: () => migrate(db.pool(), logger),
    knownSchemaVersion: LATEST_SCHEMA_VERSION,
    carryOverFrom: async (previous) => {
      const carried = await carrySeenSignatures(db, previous);
      // The operations history (the running restore's own record among them) belongs to the server, not the backup.
      await carryOperations(db, previous).catch((error: unknown) =>
        logger.warn(
          `Could not carry the operations history over into the restored database: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      return carried;
    },
  };
}

async function carryOperations(db: DbHandle, previous: string): Promise<void> {
  const source = new pg.Client({ connectionString: urlForDatabase(db.url, previous) });
  source.on('error', () => {});
  await source.connect();
  try {
    const exists = await source.query<{ t: string | null }>(
      `SELECT to_regclass('public.operations')::text AS t`,
    );
    if (!exists.rows[0]?.t) return;
    const { rows } = await source.query<{ row: Record<string, unknown> }>(
      'SELECT row_to_json(o) AS row FROM operations o',
    );
    await carryOperationsInto(
      db,
      rows.map((r) => r.row),
    );
  } finally {
    await source.end();
  }
}

/** Replay protection lives in the database; without this a restore would forget the signatures of the last minutes. */
async function carrySeenSignatures(db: DbHandle, previous: string): Promise<number> {
  const source = new pg.Client({ connectionString: urlForDatabase(db.url, previous) });
  source.on('error', () => {}); // a dropped connection fails the query below; it must not crash the process
  await source.connect();
  try {
    const exists = await source.query<{ t: string | null }>(
      `SELECT to_regclass('public.seen_signatures')::text AS t`,
    );
    if (!exists.rows[0]?.t) return 0;
    const { rows } = await source.query<{ digest: string; expires_at: Date }>(
      'SELECT digest, expires_at FROM seen_signatures WHERE expires_at > now()',
    );
    if (rows.length === 0) return 0;
    const result = await db.query(
      `INSERT INTO seen_signatures (digest, expires_at)
       SELECT * FROM unnest($1::text[], $2::timestamptz[]) ON CONFLICT (digest) DO NOTHING`,
      [rows.map((r) => r.digest), rows.map((r) => r.expires_at)],
    );
    return result.rowCount ?? 0;
  } finally {
    await source.end();
  }
}
