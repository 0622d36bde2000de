// Never fill the database's disk, for real: pg_receivewal is stopped (SIGSTOP) while WAL is written past a small
// max_held_wal; the server drops the slot once it holds back more than the cap, logs one error and notifies, and
// capture starts again with a new slot and a new base backup. The held-back WAL, read from the database server
// after every write, never exceeds the cap by more than what one check interval lets through (one segment here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePitrWindow } from '../../handlers/pitr/summary';
import { summarizePitr } from '../../handlers/pitr/summary';
import type { NotifyEvent } from '../../handlers/ports/notifier';
import { createMetricsRegistry } from '../../runtime/observability/metrics';
import { NO_NOTIFIER } from '../../handlers/ports/notifier';
import { receiverPid, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

const MB = 2 ** 20;
const CAP = 48 * MB;
const SEGMENT = 16 * MB;
let world: PitrWorld;
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

afterAll(async () => {
  if (process.env.PITR_DEBUG) console.log(world?.logger.lines.join('\n'));
  await world?.close();
});

describe('the cap on WAL held back by the replication slot', () => {
  it('drops the slot past max_held_wal while the receiver hangs, and starts again with a new base backup', async () => {
    await until('a base backup and a streaming receiver', async () =>
      (await world.catalog()).bases.length === 1 && (await slotRow())?.active ? true : undefined,
    );
    const pid = await until('the pg_receivewal process', receiverPid);
    process.kill(pid, 'SIGSTOP'); // it hangs (world.close() ends it with SIGKILL should the test fail)

    const released = () => world.logger.lines.filter((l) => l.includes('more than max_held_wal'));
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
    console.log(`held back at most ${(maxHeld / MB).toFixed(1)} MB of WAL with a cap of ${CAP / MB} MB`);
    expect(released()).toHaveLength(1);
    expect(released()[0]).toMatch(
      /^\[ERROR\] Continuous protection: the replication slot bomnipotent_backup held back .* of WAL, more than max_held_wal \(48\.0 MB\)/,
    );
    expect(maxHeld).toBeGreaterThan(CAP - SEGMENT); // the burst really piled WAL up behind the slot
    expect(maxHeld).toBeLessThanOrEqual(CAP + SEGMENT + MB);
    expect(events.map((e) => [e.kind, e.severity])).toEqual([['pitr_slot_released', 'critical']]);
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
});
