// The off-site state every replica shows in the status at a glance, in the shared database (server_info, one row per
// store location): what the last copy run of any replica read in the store and how that run ended.
import type pg from 'pg';
import type { OffsiteRecord } from '../../handlers/ports/status-sources';
import type { DbHandle } from './handle';

const KEY_PREFIX = 'offsite_state:';

/** What a copy run saw: the newest trusted backup in the store (undefined: the store was not read), how it ended. */
export interface OffsiteRun {
  newestConfirmed: Date | null | undefined;
  at: Date;
  failure: string | null;
}

interface Stored {
  read: { newest: string | null } | null;
  lastCopy: { at: string; failure: string | null };
}

export interface OffsiteStateStore {
  /** Records a copy run; a run that could not read the store keeps what an earlier run read. */
  record(location: string, run: OffsiteRun): Promise<void>;
  read(location: string): Promise<OffsiteRecord | null>;
}

export function createOffsiteStateStore(db: DbHandle): OffsiteStateStore {
  return {
    async record(location, run) {
      const value: Stored = {
        read:
          run.newestConfirmed === undefined ? null : { newest: run.newestConfirmed?.toISOString() ?? null },
        lastCopy: { at: run.at.toISOString(), failure: run.failure },
      };
      // Through a restore's read-only setting, like the notifications: a copy run may end during one.
      await db.writeThroughReadOnly((client) =>
        client.query(
          `INSERT INTO server_info (key, value) VALUES ($1, $2)
           ON CONFLICT (key) DO UPDATE SET value = CASE WHEN $3 THEN EXCLUDED.value
             ELSE (server_info.value::jsonb || jsonb_build_object('lastCopy', EXCLUDED.value::jsonb -> 'lastCopy'))::text
           END`,
          [KEY_PREFIX + location, JSON.stringify(value), value.read !== null],
        ),
      );
    },
    async read(location) {
      const { rows } = await db.query<{ value: string }>('SELECT value FROM server_info WHERE key = $1', [
        KEY_PREFIX + location,
      ]);
      if (!rows[0]) return null;
      const stored = JSON.parse(rows[0].value) as Stored;
      return {
        newestConfirmedAt: stored.read
          ? stored.read.newest === null
            ? null
            : new Date(stored.read.newest)
          : undefined,
        lastCopy: { at: new Date(stored.lastCopy.at), failure: stored.lastCopy.failure },
      };
    },
  };
}

/** After a restore's swap: the off-site state belongs to the server, not to the backup (whose copy of it is old). */
export async function carryOffsiteStateFrom(target: pg.ClientBase, source: pg.Client): Promise<number> {
  // A plain prefix comparison: in LIKE, the prefix's '_' would match any character (offsiteXstate:...).
  const ours = `left(key, ${KEY_PREFIX.length}) = $1`;
  const { rows } = await source.query<{ key: string; value: string }>(
    `SELECT key, value FROM server_info WHERE ${ours}`,
    [KEY_PREFIX],
  );
  await target.query(`DELETE FROM server_info WHERE ${ours}`, [KEY_PREFIX]);
  for (const row of rows)
    await target.query('INSERT INTO server_info (key, value) VALUES ($1, $2)', [row.key, row.value]);
  return rows.length;
}
