// The slot guard and the capture's own WAL jumps. A base backup switches the WAL twice and the capture's marked switch
// follows within a second: on a loaded machine pg_receivewal confirms later than that, and at a small max_held_wal the
// guard took the three jumps for a write burst and dropped a working slot right after capture had started again (a
// second drop in pitr-slot-drop-restart). Here a real slot that nothing streams from (its restart_lsn stands still) on
// a private cluster, and switches paced one per check: inside whileJumping they are no burst; outside, the same
// switches are (the early drop the guard exists for).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../runtime/observability/system-clock';
import { createSlotGuard, type SlotGuard } from '../../runtime/pitr/slot-guard';
import type { Receiver } from '../../runtime/pitr/receiver';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster';
import { recordingLogger } from '../support/recording-logger';

const MB = 2 ** 20;
const CHECK_MS = 100;
let cluster: PrivateCluster;
let client: pg.Client;

beforeAll(async () => {
  cluster = await startPrivateCluster('guard-secret', { auth: 'trust' });
  client = new pg.Client({ connectionString: cluster.superuserUrl() });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await client?.end().catch(() => {});
  await cluster?.stop();
});

/** A guard on a new slot reserved now (inactive: its restart_lsn stands still), watching every CHECK_MS. */
async function guardOnNewSlot(name: string) {
  await client.query('SELECT pg_create_physical_replication_slot($1, true)', [name]);
  const receiver: Receiver = { running: Promise.resolve(), pause: async () => {}, resume: () => {} };
  const stopping = new AbortController();
  const logger = recordingLogger();
  const guard: SlotGuard = createSlotGuard({
    dbUrl: cluster.superuserUrl(),
    slot: name,
    capBytes: 80 * MB,
    checkMs: CHECK_MS,
    database: 'postgres',
    receiver,
    clock: systemClock(),
    logger,
    restart: async () => {},
  });
  const watching = guard.watch(stopping.signal);
  const slotGone = async () =>
    (await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [name])).rowCount === 0;
  return {
    guard,
    slotGone,
    stop: async () => {
      stopping.abort();
      await watching;
      await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [name],
      );
    },
  };
}

/** Three WAL switches (a record first, so that each one switches), one per check and a half: 16 MB each. */
async function threeSwitches(): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    await client.query("SELECT pg_logical_emit_message(false, 'test', 'jump')");
    await client.query('SELECT pg_switch_wal()');
    await new Promise((r) => setTimeout(r, CHECK_MS * 1.5));
  }
}

describe("the slot guard and the capture's own WAL jumps", { timeout: 60_000 }, () => {
  it('keeps the slot through switches made inside whileJumping, and after them', async () => {
    const { guard, slotGone, stop } = await guardOnNewSlot('guard_jumping');
    try {
      await new Promise((r) => setTimeout(r, CHECK_MS * 3)); // a few readings before
      await guard.whileJumping(threeSwitches);
      await new Promise((r) => setTimeout(r, CHECK_MS * 10)); // readings after the jumps settled
      expect(await slotGone()).toBe(false);
      expect(guard.status()!.heldBytes).toBeGreaterThan(32 * MB); // the jumps were really held back
    } finally {
      await stop();
    }
  });

  it('drops the slot early for the same switches made outside whileJumping (a burst behind a stopped receiver)', async () => {
    const { slotGone, stop } = await guardOnNewSlot('guard_burst');
    try {
      await new Promise((r) => setTimeout(r, CHECK_MS * 3));
      await threeSwitches();
      await new Promise((r) => setTimeout(r, CHECK_MS * 10));
      expect(await slotGone()).toBe(true);
    } finally {
      await stop();
    }
  });
});
