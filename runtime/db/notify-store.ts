// The notifications' records in the server's database: the outbox (kept until delivered or expired) and the open
// problems per channel. Written through a restore's read-only setting: a restore's own messages must be queued.
import type pg from 'pg';
import type { DbHandle } from './handle';
import type { NotifyMessage } from '../notify/message';

export interface OutboxRow {
  id: string;
  channel: string;
  message: NotifyMessage;
  attempts: number;
  expired: boolean;
}

export type ProblemStep = 'problem' | 'reminder' | 'quiet';

export interface NotifyStore {
  /** Queues the messages, after the problem bookkeeping's step decided them. */
  enqueue(rows: { channel: string; message: NotifyMessage }[], expiresAfterMs: number): Promise<void>;
  /** Opens the problem for the channel ('problem'), or says a reminder is due ('reminder'), or neither ('quiet'). */
  problemStep(
    channel: string,
    problem: string,
    message: NotifyMessage,
    reminderMs: number,
  ): Promise<ProblemStep>;
  /** Closes the problem on every channel; returns the channels that had it open. */
  resolve(problem: string): Promise<string[]>;
  /** Claims up to `limit` due messages for `leaseMs`: no other replica takes them meanwhile. */
  claim(limit: number, leaseMs: number): Promise<OutboxRow[]>;
  delivered(id: string): Promise<void>;
  failed(id: string, error: string, retryInMs: number): Promise<void>;
  drop(id: string): Promise<void>;
  /** How many messages wait, for the status page and the tests. */
  pending(): Promise<number>;
  openProblems(): Promise<{ problem: string; since: Date; message: NotifyMessage }[]>;
}

export function createNotifyStore(db: DbHandle): NotifyStore {
  const write = <T>(sql: string, params: unknown[]) =>
    db.writeThroughReadOnly((client) => client.query<T & object>(sql, params));
  return {
    async enqueue(rows, expiresAfterMs) {
      if (rows.length === 0) return;
      await write(
        `INSERT INTO notify_outbox (channel, message, expires_at)
         SELECT channel, message, now() + make_interval(secs => $3::double precision / 1000)
         FROM unnest($1::text[], $2::jsonb[]) AS m(channel, message)`,
        [rows.map((r) => r.channel), rows.map((r) => JSON.stringify(r.message)), expiresAfterMs],
      );
    },
    async problemStep(channel, problem, message, reminderMs) {
      // One statement: two replicas that see the same failure send one message between them.
      const { rows } = await write<{ inserted: boolean }>(
        `INSERT INTO notify_problems (channel, problem, message) VALUES ($1, $2, $3)
         ON CONFLICT (channel, problem) DO UPDATE SET last_sent_at = now(), message = EXCLUDED.message
           WHERE notify_problems.last_sent_at <= now() - make_interval(secs => $4::double precision / 1000)
         RETURNING (xmax = 0) AS inserted`,
        [channel, problem, JSON.stringify(message), reminderMs],
      );
      if (rows.length === 0) return 'quiet';
      return rows[0]!.inserted ? 'problem' : 'reminder';
    },
    async resolve(problem) {
      const { rows } = await write<{ channel: string }>(
        'DELETE FROM notify_problems WHERE problem = $1 RETURNING channel',
        [problem],
      );
      return rows.map((r) => r.channel);
    },
    async claim(limit, leaseMs) {
      const { rows } = await write<{
        id: string;
        channel: string;
        message: NotifyMessage;
        attempts: number;
        expired: boolean;
      }>(
        `UPDATE notify_outbox SET attempts = attempts + 1,
           claimed_until = now() + make_interval(secs => $2::double precision / 1000)
         WHERE id IN (
           SELECT id FROM notify_outbox
           WHERE next_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id::text, channel, message, attempts, expires_at < now() AS expired`,
        [limit, leaseMs],
      );
      return rows;
    },
    async delivered(id) {
      await write('DELETE FROM notify_outbox WHERE id = $1', [id]);
    },
    async failed(id, error, retryInMs) {
      await write(
        `UPDATE notify_outbox SET last_error = $2, claimed_until = NULL,
           next_at = now() + make_interval(secs => $3::double precision / 1000) WHERE id = $1`,
        [id, error, retryInMs],
      );
    },
    async drop(id) {
      await write('DELETE FROM notify_outbox WHERE id = $1', [id]);
    },
    async pending() {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notify_outbox');
      return rows[0]!.n;
    },
    async openProblems() {
      const { rows } = await db.query<{ problem: string; since: Date; message: NotifyMessage }>(
        `SELECT DISTINCT ON (problem) problem, opened_at AS since, message
         FROM notify_problems ORDER BY problem, opened_at`,
      );
      return rows;
    },
  };
}

/**
 * After a restore's swap: the notifications belong to the server, not to the backup. The restored database's outbox
 * and problems (as they were when the backup was taken: sent long ago, or long over) are replaced by the replaced
 * database's, so that nothing is sent twice and nothing waiting (the restore's own "started") is lost.
 */
export async function carryNotificationsFrom(db: DbHandle, source: pg.Client): Promise<number> {
  const exists = await source.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('notify_outbox', 'notify_problems')`,
  );
  if (exists.rows[0]!.n < 2) return 0;
  const outbox = await source.query<{ rows: unknown }>(
    'SELECT coalesce(json_agg(o), $$[]$$::json) AS rows FROM notify_outbox o',
  );
  const problems = await source.query<{ rows: unknown }>(
    'SELECT coalesce(json_agg(p), $$[]$$::json) AS rows FROM notify_problems p',
  );
  return db.writeThroughReadOnly(async (client) => {
    await client.query('DELETE FROM notify_outbox');
    await client.query('DELETE FROM notify_problems');
    const moved = await client.query(
      `INSERT INTO notify_outbox (channel, message, attempts, next_at, expires_at, last_error, created_at)
       SELECT channel, message, attempts, next_at, expires_at, last_error, created_at
       FROM json_populate_recordset(NULL::notify_outbox, $1::json) ORDER BY id`,
      [JSON.stringify(outbox.rows[0]!.rows)],
    );
    await client.query(
      `INSERT INTO notify_problems SELECT * FROM json_populate_recordset(NULL::notify_problems, $1::json)`,
      [JSON.stringify(problems.rows[0]!.rows)],
    );
    return moved.rowCount ?? 0;
  });
}
