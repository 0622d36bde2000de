// The recovery point under a steady writer: each commit's send and acknowledgement time, and when it was covered:
// streamed (pg_receivewal reported the commit's WAL flushed to the local folder: plaintext, unsigned, no restore uses
// it), signed (the local restorable window reaches its acknowledgement: a signed tail or a sealed segment covers it,
// what a restore can use) and off-site (the sealed segment's manifest is in the S3 store). The writer commits one row
// every `everyMs` on a session of its own.
import pg from 'pg';
import type { PitrBench } from './pitr-setup';
import { SLOT } from './pitr-setup';

export interface Commit {
  n: number;
  sentAt: number;
  ackAt: number;
  /** pg_current_wal_flush_lsn() right after the commit, as a number: the commit record is at or before it. */
  lsn: bigint;
  streamedAt?: number;
  signedAt?: number;
  offsiteAt?: number;
}

const lsnNumber = (text: string) => {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the writer for `seconds`, then waits (at most `settleMs`) until every commit is covered everywhere. */
export async function measureRpo(
  dbUrl: string,
  bench: PitrBench,
  o: { seconds: number; everyMs: number; settleMs: number },
): Promise<Commit[]> {
  const writer = new pg.Client({ connectionString: dbUrl });
  const watcher = new pg.Client({ connectionString: dbUrl });
  await writer.connect();
  await watcher.connect();
  const commits: Commit[] = [];
  let writing = true;
  const pending = (key: 'streamedAt' | 'signedAt' | 'offsiteAt') =>
    commits.filter((c) => c[key] === undefined);
  const streamed = (async () => {
    while (writing || pending('streamedAt').length) {
      const { rows } = await watcher.query<{ flush: string | null }>(
        `SELECT r.flush_lsn::text AS flush FROM pg_stat_replication r
           JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1`,
        [SLOT],
      );
      const now = Date.now();
      const flush = rows[0]?.flush ? lsnNumber(rows[0].flush) : -1n;
      for (const c of pending('streamedAt')) if (c.lsn <= flush) c.streamedAt = now;
      await sleep(50);
    }
  })();
  const signed = (async () => {
    while (writing || pending('signedAt').length || pending('offsiteAt').length) {
      const catalog = await bench.catalog();
      const offsite = await bench.offsiteFiles().catch(() => new Set<string>());
      const now = Date.now();
      const latest = catalog.window ? Date.parse(catalog.window.latest) : 0;
      let offsiteLatest = 0;
      for (const s of catalog.segments)
        if (s.coversUntil && offsite.has(s.file))
          offsiteLatest = Math.max(offsiteLatest, Date.parse(s.coversUntil));
      for (const c of pending('signedAt')) if (c.ackAt <= latest) c.signedAt = now;
      for (const c of pending('offsiteAt')) if (c.ackAt <= offsiteLatest) c.offsiteAt = now;
      await sleep(250);
    }
  })();
  try {
    const until = Date.now() + o.seconds * 1000;
    for (let n = 1; Date.now() < until; n++) {
      const sentAt = Date.now();
      await writer.query('INSERT INTO bench_pitr_writes (n) VALUES ($1)', [n]);
      const ackAt = Date.now();
      const { rows } = await writer.query<{ lsn: string }>('SELECT pg_current_wal_flush_lsn()::text AS lsn');
      commits.push({ n, sentAt, ackAt, lsn: lsnNumber(rows[0]!.lsn) });
      await sleep(Math.max(0, o.everyMs - (Date.now() - sentAt)));
    }
  } finally {
    writing = false;
  }
  const deadline = sleep(o.settleMs).then(() => {
    for (const c of commits) {
      // Not covered within the bound: counted as never (Infinity in the percentiles).
      c.streamedAt ??= Number.POSITIVE_INFINITY;
      c.signedAt ??= Number.POSITIVE_INFINITY;
      c.offsiteAt ??= Number.POSITIVE_INFINITY;
    }
  });
  await Promise.race([Promise.all([streamed, signed]), deadline]);
  await Promise.allSettled([streamed, signed]);
  await writer.end();
  await watcher.end();
  return commits;
}

/** The p-th percentile (0..100) of the delays, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface RpoFigures {
  commits: number;
  /** p50, p99 and max, in ms after the acknowledgement. */
  streamed: [number, number, number];
  /** A signed tail or sealed segment covers it: the local recovery point. */
  signed: [number, number, number];
  offsite: [number, number, number];
}

export function summarizeRpo(commits: readonly Commit[]): RpoFigures {
  const of = (key: 'streamedAt' | 'signedAt' | 'offsiteAt'): [number, number, number] => {
    const delays = commits.map((c) => Math.max(0, (c[key] ?? Number.POSITIVE_INFINITY) - c.ackAt));
    return [percentile(delays, 50), percentile(delays, 99), percentile(delays, 100)];
  };
  return {
    commits: commits.length,
    streamed: of('streamedAt'),
    signed: of('signedAt'),
    offsite: of('offsiteAt'),
  };
}
