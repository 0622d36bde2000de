// The source side of a PITR rehearsal: the live database's row counts at one exact WAL position. A repeatable-read
// snapshot equals the state at WAL position L when L was read in the snapshot's first statement, no WAL was inserted
// since a reading just before it (so no commit record was written in between), and no transaction was in progress
// when it was taken (xip empty: none had a commit record written but was still invisible). Then every commit the
// snapshot sees lies before L and every commit before L is seen. Retried until such a quiet moment comes; nothing is
// written to the live database, and a read-only snapshot blocks no writer.
import pg from 'pg';
import type { Clock } from '../../handlers/ports/clock';
import type { PitrCountMark } from '../../handlers/pitr/rehearsal-record';

const TABLES = `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
   JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1`;

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
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const first = await client.query<{ lsn: string; snapshot: string }>(
          'SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_current_snapshot()::text AS snapshot',
        );
        const lsn = first.rows[0]!.lsn;
        const [xmin, xmax, xip] = first.rows[0]!.snapshot.split(':');
        if (lsn !== before.rows[0]!.lsn || xmin !== xmax || xip !== '') {
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
