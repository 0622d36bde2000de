// The WAL switch every seal_interval costs a 16 MB segment on the database server (and a sealed file, its manifest
// and an off-site object) only while the database is written to: on an idle server pg_switch_wal() does nothing
// (PostgreSQL skips the switch when nothing was written since the last one), so the capture, switching every second
// here, seals no new segment. A few may still come from the server's own background records after the last write
// (a standby snapshot every 15 s, a checkpoint), never one per interval. The test's own cluster, never the shared one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePitrWorld, startPitrWorldWithWindow, type PitrWorld } from '../support/pitr-world';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorldWithWindow({ sealIntervalMs: 1000, windowTimeoutMs: 150_000 });
});

afterAll(() => closePitrWorld(world));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const serverSegment = async () =>
  parseInt(
    String((await world.query('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f')).rows[0].f).slice(8),
    16,
  );

describe('the WAL switch every seal_interval', { timeout: 240_000 }, () => {
  it('closes a segment every interval while the database is written to, and none while it is idle', async () => {
    // Written to: one commit every 250 ms for 6 s; the capture's switches seal a segment about every second.
    const writing = (await world.catalog()).segments.length;
    for (let i = 0; i < 24; i++) {
      await world.query('INSERT INTO docs (body) VALUES ($1)', [`write ${i}`]);
      await sleep(250);
    }
    await world.coveredUntil(new Date().toISOString(), 60_000);
    const written = (await world.catalog()).segments.length - writing;
    expect(written).toBeGreaterThanOrEqual(3);

    // Idle: 15 seal intervals without a write.
    const idleSealed = (await world.catalog()).segments.length;
    const idleSegment = await serverSegment();
    await sleep(15_000);
    const sealedWhileIdle = (await world.catalog()).segments.length - idleSealed;
    const switchedWhileIdle = (await serverSegment()) - idleSegment;
    console.log(
      `written to: ${written} segment(s) sealed; idle for 15 intervals: ${sealedWhileIdle} sealed, the server's segment moved by ${switchedWhileIdle}`,
    );
    expect(sealedWhileIdle).toBeLessThanOrEqual(3);
    expect(switchedWhileIdle).toBeLessThanOrEqual(3);
  });
});
