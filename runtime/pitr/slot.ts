// The replication slot as the database server sees it: how much WAL it makes the server keep (the current WAL
// position minus the slot's restart_lsn; wal_status and safe_wal_size since PostgreSQL 13), and dropping it when
// it holds back more than max_held_wal, so that a stopped receiver can never fill the database server's disk.
import pg from 'pg';

export interface SlotStatus {
  slot: string;
  /** Bytes of WAL the server keeps for the slot; 0 while the slot reserves none yet (or does not exist). */
  heldBytes: number;
  /** pg_replication_slots.wal_status: reserved, extended, unreserved or lost; null when the slot does not exist. */
  walStatus: string | null;
  /** How much more WAL may be written before max_slot_wal_keep_size invalidates the slot; null when unlimited. */
  safeWalSizeBytes: number | null;
  /** Where the slot's retained WAL starts (it moves as pg_receivewal confirms); null without a slot or position. */
  restartLsn: string | null;
  exists: boolean;
  active: boolean;
  checkedAt: string; // ISO 8601
}

async function withClient<T>(dbUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: dbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function querySlot(client: pg.Client, slot: string, now: Date): Promise<SlotStatus> {
  const { rows } = await client.query<{
    held: string | null;
    wal_status: string | null;
    safe: string | null;
    restart: string | null;
    active: boolean;
  }>(
    `SELECT (pg_current_wal_lsn() - restart_lsn)::bigint::text AS held, active, restart_lsn::text AS restart,
            to_jsonb(s) ->> 'wal_status' AS wal_status, to_jsonb(s) ->> 'safe_wal_size' AS safe
       FROM pg_replication_slots s WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  return {
    slot,
    heldBytes: row?.held ? Math.max(0, Number(row.held)) : 0,
    walStatus: row?.wal_status ?? null,
    safeWalSizeBytes: row?.safe ? Number(row.safe) : null,
    restartLsn: row?.restart ?? null,
    exists: row !== undefined,
    active: row?.active ?? false,
    checkedAt: now.toISOString(),
  };
}

export function readSlot(dbUrl: string, slot: string, now: Date): Promise<SlotStatus> {
  return withClient(dbUrl, (client) => querySlot(client, slot, now));
}

export interface SlotReader {
  read(now: Date): Promise<SlotStatus>;
  close(): Promise<void>;
}

/**
 * Reads the slot over one connection kept open (the guard reads it several times a second: a connection and its
 * authentication each time would cost more than the query); after an error the next read connects again.
 */
export function createSlotReader(dbUrl: string, slot: string): SlotReader {
  let client: pg.Client | undefined;
  const close = async () => {
    const current = client;
    client = undefined;
    await current?.end().catch(() => {});
  };
  return {
    async read(now) {
      try {
        if (!client) {
          const fresh = new pg.Client({ connectionString: dbUrl });
          fresh.on('error', () => {});
          client = fresh;
          await fresh.connect();
        }
        return await querySlot(client, slot, now);
      } catch (error) {
        await close();
        throw error;
      }
    },
    close,
  };
}

/**
 * Ends the WAL sender that streams through the slot (when one still does: a receiver that hangs keeps it open) and
 * drops the slot; the server may then remove the WAL it kept. Its own role's sender can be ended without superuser.
 */
export function dropSlot(dbUrl: string, slot: string): Promise<void> {
  return withClient(dbUrl, async (client) => {
    for (let attempt = 1; ; attempt += 1) {
      await client.query(
        `SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots
          WHERE slot_name = $1 AND active_pid IS NOT NULL`,
        [slot],
      );
      try {
        await client.query(
          'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        );
        return;
      } catch (error) {
        // "is active for PID": the sender had not let go of it yet.
        if ((error as { code?: string }).code !== '55006' || attempt >= 10) throw error;
      }
    }
  });
}
