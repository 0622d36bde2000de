// The PITR rehearsal's source counts (takeCountMark) are taken only at a quiet moment. An open transaction that holds
// the newest assigned xid, with no later transaction completed, does not show in a snapshot's xip on PostgreSQL 14+
// (the snapshot reads `X:X:`, its xmax being the newest completed xid + 1); such a moment is not quiet, since that
// transaction's commit record could lie before the mark's WAL position while the snapshot does not see it. Here the
// mark logs in as a non-superuser role with REPLICATION (as the capture may) while the holder is another role: the
// mark waits until the holder commits, and its counts include the held row.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeCountMark } from '../../runtime/pitr/count-mark';
import { systemClock } from '../../runtime/observability/system-clock';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';

let db: TestDatabase;
const role = `bt_countmark_${process.pid}_${randomBytes(3).toString('hex')}`;

function urlAs(user: string): string {
  const url = new URL(db.url);
  url.username = user;
  url.password = '';
  return url.toString();
}

beforeAll(async () => {
  db = await createTestDatabase('bt_countmark');
  await adminQuery(`CREATE ROLE "${role}" LOGIN REPLICATION`);
  await adminQuery(
    `CREATE TABLE t (k int); INSERT INTO t VALUES (1); GRANT SELECT ON t TO "${role}"`,
    [],
    db.name,
  );
});

afterAll(async () => {
  await db?.drop();
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
});

describe('the source counts of a PITR rehearsal', () => {
  it('are not taken while a transaction holding the newest xid is open, though the snapshot shows none', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let committedAt = 0;
    let commit: Promise<void> | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('INSERT INTO t VALUES (2)');
      const { rows } = await holder.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
      const held = rows[0]!.xid;
      // What a fresh snapshot looks like now: unless another session completed a later xid meanwhile, `X:X:`, with
      // X the held xid (in no xip), which the snapshot test alone took for quiet.
      const seen = await adminQuery<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
      const [xmin, xmax, xip] = seen.rows[0]!.snapshot.split(':');
      if (xmin === xmax && xip === '') expect(xmax).toBe(held);
      commit = new Promise<void>((resolve, reject) => {
        setTimeout(() => {
          committedAt = performance.now();
          holder.query('COMMIT').then(() => resolve(), reject);
        }, 1_000);
      });
      const started = performance.now();
      const mark = await takeCountMark({ dbUrl: urlAs(role), clock: systemClock() });
      const tookMs = performance.now() - started;
      await commit;
      expect(mark.tableRows, `mark taken after ${Math.round(tookMs)} ms`).toEqual({ 'public.t': 2 });
      expect(committedAt).toBeGreaterThan(0);
      expect(tookMs).toBeLessThan(10_000);
    } finally {
      await commit?.catch(() => {});
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
  }, 30_000);
});
