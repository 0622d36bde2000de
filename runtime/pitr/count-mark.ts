// The source side of a PITR rehearsal: the live database's row counts at one exact WAL position. A repeatable-read
// snapshot equals the state at WAL position L when L was read in the snapshot's first statement, no WAL was inserted
// since a reading just before it (so no commit record was written in between), and no transaction holding an xid was
// in progress between that reading and the snapshot (none had a commit record written but was still invisible). Then
// every commit the snapshot sees lies before L and every commit before L is seen. Retried until such a quiet moment
// comes; nothing is written to the live database, and a read-only snapshot blocks no writer.
//
// The snapshot alone cannot tell "no transaction in progress": on PostgreSQL 14+ its xmax is the newest *completed*
// xid + 1, so a transaction still open that holds the newest assigned xid shows as `X:X:` (not in xip), and its commit
// record could lie before L while the snapshot does not see it. So between the first reading and the snapshot the
// mark also asks pg_locks for transactionid locks: a transaction holds an ExclusiveLock on its own xid from the xid's
// assignment (before any commit record) until after it became visible to new snapshots (the lock is released after
// ProcArrayEndTransaction), and a prepared transaction keeps its lock too. pg_locks shows every role's locks to any
// role (the capture may log in as a non-superuser with REPLICATION); pg_stat_activity.backend_xid shows other roles'
// xids too, but not prepared transactions. The check is cluster-wide, as snapshots are. Why the order suffices: a
// commit record before L lies before the first reading (no WAL since); if its transaction were invisible to the
// snapshot, it would have held its xid lock from before that reading until after the snapshot, so also at the check.
import pg from 'pg';
import type { Clock } from '../../handlers/ports/clock';
import type { PitrCountMark } from '../../handlers/pitr/rehearsal-record';

const TABLES = `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
   JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1`;

// Every transaction holding an xid, prepared ones included (see above).
const XID_HOLDERS = `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'transactionid' AND mode = 'ExclusiveLock'`;

export interface CountMarkOptions {
  dbUrl: string;
  clock: Clock;
  /** How many snapshots to try before giving up (each ~ a round trip; a pause between). */
  attempts?: number;
}

/** Counts every ordinary table (UNLOGGED ones too: recovery empties them, which the rehearsal then reports). */
export async function takeCountMark(options: CountMarkOptions): Promise<PitrCountMark> {
  const client = new pg.Client({ connectionString: options.dbUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  const attempts = options.attempts ?? 200;
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const before = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
      // After the first reading and before the snapshot (which the transaction's first statement takes).
      const holders = await client.query<{ n: number }>(XID_HOLDERS);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const first = await client.query<{ lsn: string; snapshot: string }>(
          'SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_current_snapshot()::text AS snapshot',
        );
        const lsn = first.rows[0]!.lsn;
        const [xmin, xmax, xip] = first.rows[0]!.snapshot.split(':');
        if (lsn !== before.rows[0]!.lsn || holders.rows[0]!.n > 0 || xmin !== xmax || xip !== '') {
          await client.query('ROLLBACK');
          await options.clock.sleep(attempt < 20 ? 5 : 50);
          continue;
        }
        const at = options.clock.now().toISOString();
        const tableRows: Record<string, number> = {};
        const { rows } = await client.query<{ name: string }>(TABLES);
        for (const { name } of rows) {
          const counted = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${name}`);
          tableRows[name] = Number(counted.rows[0]?.n ?? 0);
        }
        await client.query('COMMIT');
        return { at, lsn, tableRows };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
    throw new Error(
      `no quiet moment to count the source's rows at one exact WAL position in ${attempts} tries (the database was written to or held a transaction open each time)`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
