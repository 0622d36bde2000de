// The rehearsed standby at one size: a backup with `rehearse = true`, the rehearsal that follows it (its duration,
// and signed request latency while it runs against the same load when idle), then `completely-restore` of that
// backup, which swaps the standby in: its time, the write-refused and read-unavailable windows (the same probes as
// the file restore), set against the raw dropdb + createdb + psql of the same repetitions.
import { performance } from 'node:perf_hooks';
import { productRestore, type ProductRestore } from './contenders';
import { runLoad, signedGetHeaders, type LoadResult } from './load';
import { query } from './databases';
import type { BenchOptions } from './options';
import { ADMIN, type BenchServer } from './server';

export interface StandbyFigures {
  rehearsal: {
    /** From the end of `database-backup create` to the log line of the passed rehearsal. */
    wallMs: number;
    /** The duration the signed rehearsal record holds. */
    recordedMs: number;
    tables: number;
    rows: number;
    standbyBytes: number;
  };
  /** Signed GET /who-am-i, two at a time: idle before the backup, and while the rehearsal runs. */
  latency: { idle: LoadResult; duringRehearsal: LoadResult };
  /** `completely-restore` of the rehearsed backup; `fromStandby` is false when the server loaded the file instead. */
  restore: ProductRestore & { fromStandby: boolean };
  /** The server's log lines of that restore, ms after its first one: where its time went. */
  restoreLog: string[];
  /**
   * With autovacuum on: how long after the rehearsal autovacuum was seen visiting the standby (the restore waits for
   * it, as the standby once failed its check after such a visit); null when not within the wait; undefined when off.
   */
  autovacuumVisitMs?: number | null;
}

const AUTOVACUUM_WAIT_MS = 4 * 60_000; // two default naptimes and some

const REHEARSAL_TIMEOUT_MS = 60 * 60_000;
const LOAD_SLICE_S = 2;

interface ListedBackup {
  file: string;
  rehearsal: {
    state: string;
    durationMs?: number;
    tables?: number;
    rows?: number;
    standby?: { database?: string; sizeBytes: number } | null;
  } | null;
}

/** Commits PostgreSQL counted in the standby: only autovacuum adds to them while it refuses connections. */
async function standbyCommits(standby: string): Promise<number> {
  const rows = await query<{ n: string }>(
    'SELECT coalesce(xact_commit, 0)::text AS n FROM pg_stat_database WHERE datname = $1',
    [standby],
  );
  return Number(rows[0]?.n ?? 0);
}

async function waitForAutovacuum(standby: string): Promise<number | null> {
  const started = performance.now();
  const before = await standbyCommits(standby);
  while (performance.now() - started < AUTOVACUUM_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    if ((await standbyCommits(standby)) > before) return performance.now() - started;
  }
  return null;
}

export async function runStandby(
  server: BenchServer,
  o: BenchOptions,
  cluster: { autovacuum: boolean },
): Promise<StandbyFigures> {
  const load = (seconds: number) =>
    runLoad({
      baseUrl: server.url,
      path: '/who-am-i',
      headers: signedGetHeaders(ADMIN, server.secretKeyPem(), '/who-am-i', server.url),
      concurrency: 2,
      maxRequests: 1_000_000,
      maxSeconds: seconds,
    });
  await server.setTaskKeys(['rehearse = true']);
  try {
    const idle = await load(LOAD_SLICE_S * 2);
    const mark = server.log.mark();
    const created = await server.client(['database-backup', 'create']);
    if (created.code !== 0) throw new Error(`create failed: ${created.stderr}${created.stdout}`);
    const createdAt = performance.now();
    const slices: LoadResult[] = [];
    const ended = () => server.log.at(/Rehearsal of backup '[^']+' (passed|FAILED)/, mark);
    while (ended() === null) {
      if (performance.now() - createdAt > REHEARSAL_TIMEOUT_MS) throw new Error('the rehearsal did not end');
      slices.push(await load(LOAD_SLICE_S));
    }
    const passedAt = server.log.at(/Rehearsal of backup '[^']+' passed/, mark);
    if (passedAt === null) throw new Error('the rehearsal failed: see the server log');
    const listed = await server.client(['-o', 'raw', 'database-backup', 'list']);
    const { backups } = JSON.parse(listed.stdout) as { backups: ListedBackup[] };
    const newest = backups.find((b) => b.rehearsal?.state === 'passed');
    if (!newest?.rehearsal) throw new Error('no backup with a passed rehearsal is listed');

    const standby = newest.rehearsal.standby?.database;
    const autovacuumVisitMs = cluster.autovacuum && standby ? await waitForAutovacuum(standby) : undefined;
    const restoreMark = server.log.mark();
    const restore = await productRestore(server, o.rssIntervalMs, o.probeIntervalMs);
    return {
      rehearsal: {
        wallMs: passedAt - createdAt,
        recordedMs: newest.rehearsal.durationMs ?? NaN,
        tables: newest.rehearsal.tables ?? 0,
        rows: newest.rehearsal.rows ?? 0,
        standbyBytes: newest.rehearsal.standby?.sizeBytes ?? 0,
      },
      latency: { idle, duringRehearsal: merge(slices) },
      restore: { ...restore, fromStandby: server.log.at(/Took the rehearsed standby/, restoreMark) !== null },
      restoreLog: timed(server.log.since(restoreMark)),
      ...(autovacuumVisitMs === undefined ? {} : { autovacuumVisitMs }),
    };
  } finally {
    await server.setTaskKeys([]);
  }
}

function timed(lines: { t: number; text: string }[]): string[] {
  const first = lines[0]?.t ?? 0;
  return lines.map((l) => `+${(l.t - first).toFixed(0)} ms ${l.text}`);
}

/** Load slices taken one after another, as one: counts add up, the percentiles are the slices' worst. */
function merge(slices: LoadResult[]): LoadResult {
  if (slices.length === 0)
    return { requests: 0, ok: 0, failures: {}, seconds: 0, rps: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN };
  const failures: Record<string, number> = {};
  for (const s of slices)
    for (const [code, n] of Object.entries(s.failures)) failures[code] = (failures[code] ?? 0) + n;
  const seconds = slices.reduce((t, s) => t + s.seconds, 0);
  const ok = slices.reduce((t, s) => t + s.ok, 0);
  return {
    requests: slices.reduce((t, s) => t + s.requests, 0),
    ok,
    failures,
    seconds,
    rps: seconds > 0 ? ok / seconds : 0,
    p50Ms: Math.max(...slices.map((s) => s.p50Ms)),
    p99Ms: Math.max(...slices.map((s) => s.p99Ms)),
    maxMs: Math.max(...slices.map((s) => s.maxMs)),
  };
}
