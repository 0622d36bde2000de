// Never fill the database's disk, for real: pg_receivewal is stopped (SIGSTOP) while WAL is written past a small
// max_held_wal; the server drops the slot once it holds back more than the cap, logs one error and notifies, and
// capture starts again with a new slot and a new base backup. The held-back WAL, read from the database server
// after every write, never exceeds the cap by more than what one check interval lets through (one segment here). A
// real burst (rows as fast as the server takes them) is seen coming: the slot is dropped before it reaches the cap.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePitrWindow } from '../../handlers/pitr/summary';
import { summarizePitr } from '../../handlers/pitr/summary';
import type { NotifyEvent } from '../../handlers/ports/notifier';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import { NO_NOTIFIER } from '../../handlers/ports/notifier';
import { closePitrWorld, receiverPid, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

const MB = 2 ** 20;
const CAP = 48 * MB;
const SEGMENT = 16 * MB;
let world: PitrWorld;
/** The test burst's pace (bytes/s): at the 250 ms check, a reading every 5 MB. */
const RATE = 20 * 2 ** 20;
const events: NotifyEvent[] = [];

async function slotRow() {
  const { rows } = await world.query(
    `SELECT (pg_current_wal_lsn() - restart_lsn)::bigint AS held, active
       FROM pg_replication_slots WHERE slot_name = 'bomnipotent_backup'`,
  );
  return rows[0] as { held: string | null; active: boolean } | undefined;
}

beforeAll(async () => {
  world = await startPitrWorld({
    sealIntervalMs: 3_600_000, // no switches of its own: the test writes all the WAL
    maxHeldWalBytes: CAP,
    slotCheckMs: 200,
    notifier: { ...NO_NOTIFIER, event: (e) => events.push(e) },
  });
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
});

afterAll(() => closePitrWorld(world));

describe('the cap on WAL held back by the replication slot', { timeout: 180_000 }, () => {
  it('drops the slot past max_held_wal while the receiver hangs, and starts again with a new base backup', async () => {
    // The first base backup under a full suite's load takes as long as the other PITR suites allow their first window.
    await until(
      'a base backup and a streaming receiver',
      async () =>
        (await world.catalog()).bases.length === 1 && (await slotRow())?.active ? true : undefined,
      110_000,
    );
    // The slot's position at a segment start, so that each segment written below adds 16 MB to what it holds back.
    await world.query('SELECT pg_switch_wal()');
    await until('the switch streamed', async () =>
      Number((await slotRow())?.held ?? SEGMENT) < MB ? true : undefined,
    );
    const pid = await until('the pg_receivewal process', receiverPid);
    // What the guard did while capture started (at a cap this small, a start can look like a burst) is not this test's.
    const before = { lines: world.logger.lines.length, events: events.length };
    process.kill(pid, 'SIGSTOP'); // it hangs (world.close() ends it with SIGKILL should the test fail)

    const released = () =>
      world.logger.lines.slice(before.lines).filter((l) => l.includes('the slot was dropped so that'));
    let maxHeld = 0;
    for (let i = 0; i < 20 && released().length === 0; i += 1) {
      await world.query("INSERT INTO docs (body) VALUES ('burst')");
      await world.query('SELECT pg_switch_wal()');
      const row = await slotRow();
      maxHeld = Math.max(maxHeld, Number(row?.held ?? 0));
      const wrote = new Date().toISOString();
      // One write per check: wait until the server's next check of the slot (and a release it led to) is done.
      await until('the next slot check', async () =>
        (world.capture.slot()?.checkedAt ?? '') > wrote || released().length > 0 ? true : undefined,
      );
    }
    // The guard may read (and drop) between the test's writes and its own reading: its reading counts too.
    const guardRead = /held back ([\d.]+) MB of WAL/.exec(released()[0] ?? '');
    if (guardRead) maxHeld = Math.max(maxHeld, Number(guardRead[1]) * MB);
    console.log(`held back at most ${(maxHeld / MB).toFixed(1)} MB of WAL with a cap of ${CAP / MB} MB`);
    expect(released()).toHaveLength(1);
    expect(released()[0]).toMatch(
      /^\[ERROR\] Continuous protection: the replication slot bomnipotent_backup held back .* of WAL(, more than| and grew by .*, so it would have passed) max_held_wal \(48\.0 MB\)/,
    );
    expect(maxHeld).toBeGreaterThan(SEGMENT); // the writes really piled WAL up behind the slot
    // A segment per check: past the cap by at most the segment of the check that decided, and one more written while
    // the drop itself ran (it ends the hanging receiver and waits for its WAL sender to let go of the slot).
    expect(maxHeld).toBeLessThanOrEqual(CAP + 2 * SEGMENT + MB);
    expect(events.slice(before.events).map((e) => [e.kind, e.severity])).toEqual([
      ['pitr_slot_released', 'critical'],
    ]);
    // The hanging receiver was ended (SIGKILL) and the slot dropped; a new one streams again and holds little.
    expect(() => process.kill(pid, 0)).toThrow();
    await until('the new slot streaming', async () => ((await slotRow())?.active ? true : undefined));
    expect(Number((await slotRow())!.held ?? 0)).toBeLessThan(CAP);

    // Capture starts again from a new base backup, and the WAL after it is streamed and sealed again.
    const catalog = await until('a second base backup', async () => {
      const c = await world.catalog();
      return c.bases.length === 2 ? c : undefined;
    });
    const base = catalog.bases[1]!;
    await world.query("INSERT INTO docs (body) VALUES ('after')");
    await world.query('SELECT pg_switch_wal()');
    await until('a segment sealed after the new base', async () =>
      (await world.catalog()).segments.some(
        (s) => s.segment >= base.endSegment! && s.createdAt > base.createdAt,
      )
        ? true
        : undefined,
    );

    // The held-back WAL, as list and GET /metrics show it.
    const held = () => ({ heldBytes: world.capture.slot()!.heldBytes, capBytes: CAP });
    const line = describePitrWindow(summarizePitr(await world.catalog(), new Date(), held()));
    expect(line).toMatch(
      /; the replication slot holds back [\d.]+ (B|KB|MB) of WAL on the database server \(max_held_wal 48\.0 MB\)\)\.$/,
    );
    const metrics = await createMetricsRegistry({ processMetrics: false, heldWal: held }).renderPrometheus();
    expect(metrics).toMatch(/^bomnipotent_pitr_held_wal_bytes \d+$/m);
    expect(metrics).toContain(`bomnipotent_pitr_max_held_wal_bytes ${CAP}`);
  });

  it('drops the slot before the cap when a write burst piles WAL up behind a stopped receiver', async () => {
    await until('the new slot streaming, holding back little', async () => {
      const row = await slotRow();
      return row?.active && Number(row.held ?? SEGMENT) < 4 * MB ? true : undefined;
    });
    const pid = await until('the new pg_receivewal process', receiverPid);
    const dropped = () => world.logger.lines.filter((l) => l.includes('the slot was dropped so that'));
    const before = dropped().length;
    const sampler = new pg.Client({ connectionString: world.appUrl });
    const writer = new pg.Client({ connectionString: world.appUrl });
    await sampler.connect();
    await writer.connect();
    try {
      process.kill(pid, 'SIGSTOP');
      let maxHeld = 0;
      let writing = true;
      const sampling = (async () => {
        while (writing) {
          const { rows } = await sampler.query(
            `SELECT (pg_current_wal_lsn() - restart_lsn)::bigint AS held FROM pg_replication_slots
              WHERE slot_name = 'bomnipotent_backup'`,
          );
          maxHeld = Math.max(maxHeld, Number(rows[0]?.held ?? 0));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const started = Date.now();
      let written = 0;
      const startLsn = (await writer.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
      // A steady burst of about RATE: as fast as the machine writes, a quiet one passed the cap between two checks
      // (222 MB/s), which no check interval can follow; the bench measures the guard at the rate the disk gives.
      while (dropped().length === before && written < 4 * CAP) {
        await writer.query("INSERT INTO docs (body) SELECT repeat('x', 900) FROM generate_series(1, 1000)");
        const { rows } = await writer.query('SELECT (pg_current_wal_lsn() - $1::pg_lsn)::bigint AS d', [
          startLsn,
        ]);
        written = Number(rows[0].d);
        const ahead = written / RATE - (Date.now() - started) / 1000;
        if (ahead > 0) await new Promise((r) => setTimeout(r, ahead * 1000));
      }
      writing = false;
      await sampling;
      const rate = written / MB / ((Date.now() - started) / 1000);
      console.log(
        `burst of ${(written / MB).toFixed(0)} MB at ${rate.toFixed(0)} MB/s: the slot held back at most ${(maxHeld / MB).toFixed(1)} MB with a cap of ${CAP / MB} MB`,
      );
      expect(dropped().slice(before)).toHaveLength(1);
      expect(dropped().at(-1)).toMatch(
        /held back [\d.]+ MB of WAL and grew by [\d.]+ MB\/s, so it would have passed max_held_wal \(48\.0 MB\) before the next check/,
      );
      expect(maxHeld).toBeGreaterThan(SEGMENT); // the burst really piled WAL up behind the slot
      // The guard decided below the cap, from the growth it saw. How far the WAL got past its reading before the slot
      // was gone depends on how fast this machine runs the check and the drop: the bench measures that (held at most
      // 39 MB at 75 MB/s with a 64 MB cap, docs/benchmarks.md); a loaded CI machine can take the burst past the cap
      // meanwhile, so it is not asserted here.
      const decidedAt = /held back ([\d.]+) MB of WAL and grew/.exec(dropped().at(-1)!)![1]!;
      expect(Number(decidedAt) * MB).toBeLessThan(CAP);
    } finally {
      await sampler.end();
      await writer.end();
    }
  });

  it("says at start that PostgreSQL's own bound is unlimited, with the line to set, and not once it is set", async () => {
    const warning =
      /max_slot_wal_keep_size, is unlimited \(-1\)\. For a bound .* set max_slot_wal_keep_size = '48MB'/;
    expect(world.logger.lines.filter((l) => warning.test(l))).toHaveLength(1);
    await world.query("ALTER SYSTEM SET max_slot_wal_keep_size = '48MB'");
    await world.query('SELECT pg_reload_conf()');
    try {
      const before = world.logger.lines.length;
      await world.restartCapture();
      await until('capture streaming again', async () =>
        world.logger.lines.slice(before).some((l) => /streaming the WAL/.test(l)) ? true : undefined,
      );
      expect(world.logger.lines.slice(before).filter((l) => /max_slot_wal_keep_size/.test(l))).toEqual([]);
    } finally {
      await world.query('ALTER SYSTEM RESET max_slot_wal_keep_size');
      await world.query('SELECT pg_reload_conf()');
    }
  });
});
