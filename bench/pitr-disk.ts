// The disk with the receiver stopped: the capture restarted with a cap on the WAL its slot may hold back
// (max_held_wal), pg_receivewal stopped (SIGSTOP, as a hung receiver), then a write burst; the WAL the slot holds back
// (pg_current_wal_lsn() - restart_lsn in pg_replication_slots) sampled every 100 ms until the product releases the
// slot (the burst stops once it has written four times the cap; the release is then waited for up to 60 s). What the cap promises: the held-back WAL never exceeds it.
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { PitrBench } from './pitr-setup';
import { SLOT } from './pitr-setup';

export interface DiskFigures {
  capBytes: number;
  maxHeldBytes: number;
  /** WAL written by the burst while the receiver was stopped. */
  burstBytes: number;
  burstMs: number;
  released: boolean;
  /** From the first sample over the cap to the release line. */
  overCapMs: number | null;
  releaseLine: string | null;
  samples: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function receiverPid(): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-P', String(process.pid), '-x', 'pg_receivewal'], {
      encoding: 'utf8',
    });
    return Number(out.split('\n').filter(Boolean)[0]);
  } catch {
    return undefined;
  }
}

async function slotStreaming(c: pg.Client): Promise<boolean> {
  const { rows } = await c.query<{ active: boolean }>(
    'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
    [SLOT],
  );
  return rows[0]?.active === true && receiverPid() !== undefined;
}

export async function measureDisk(dbUrl: string, bench: PitrBench, capBytes: number): Promise<DiskFigures> {
  await bench.capture.stop();
  bench.restartWithCap(capBytes);
  const sampler = new pg.Client({ connectionString: dbUrl });
  const writer = new pg.Client({ connectionString: dbUrl });
  await sampler.connect();
  await writer.connect();
  const released = () => bench.logger.lines.find((l) => l.includes('the slot was dropped so that')) ?? null;
  try {
    for (let i = 0; !(await slotStreaming(sampler)); i++) {
      if (i > 600) throw new Error('the capture did not stream again within 60 s');
      await sleep(100);
    }
    const pid = receiverPid()!;
    process.kill(pid, 'SIGSTOP');
    const lsn = async () =>
      (await writer.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
    const startLsn = await lsn();
    let maxHeld = 0;
    let samples = 0;
    let overAt: number | null = null;
    let releasedAt: number | null = null;
    let burstEnded: number | null = null;
    let burst = true;
    const sampling = (async () => {
      // After the burst, up to 60 s for the release line (logged by the capture loop once the slot is dropped).
      while (burst || (!released() && Date.now() - (burstEnded ?? Date.now()) < 60_000)) {
        const { rows } = await sampler.query<{ held: string | null }>(
          `SELECT (pg_current_wal_lsn() - restart_lsn)::bigint::text AS held
             FROM pg_replication_slots WHERE slot_name = $1`,
          [SLOT],
        );
        const held = Number(rows[0]?.held ?? 0);
        samples += 1;
        maxHeld = Math.max(maxHeld, held);
        if (held > capBytes && overAt === null) overAt = Date.now();
        if (released() && releasedAt === null) releasedAt = Date.now();
        await sleep(100);
      }
    })();
    let burstBytes = 0;
    const burstStarted = Date.now();
    await writer.query('CREATE TABLE IF NOT EXISTS bench_pitr_burst (n int, pad text)');
    while (!released() && burstBytes < 4 * capBytes) {
      await writer.query(
        `INSERT INTO bench_pitr_burst SELECT g, repeat('x', 900) FROM generate_series(1, 5000) g`,
      );
      const { rows } = await writer.query<{ d: string }>(
        'SELECT (pg_current_wal_lsn() - $1::pg_lsn)::text AS d',
        [startLsn],
      );
      burstBytes = Number(rows[0]!.d);
    }
    const burstMs = Date.now() - burstStarted;
    burst = false;
    burstEnded = Date.now();
    await sampling;
    const line = released();
    if (line !== null && releasedAt === null) releasedAt = Date.now();
    return {
      capBytes,
      maxHeldBytes: maxHeld,
      burstBytes,
      burstMs,
      released: line !== null,
      overCapMs: releasedAt !== null && overAt !== null ? releasedAt - overAt : null,
      releaseLine: line,
      samples,
    };
  } finally {
    await writer.query('DROP TABLE IF EXISTS bench_pitr_burst').catch(() => {});
    const pid = receiverPid();
    if (pid) process.kill(pid, 'SIGCONT');
    await sampler.end();
    await writer.end();
  }
}
