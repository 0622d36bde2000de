// A replication slot saves its position only at checkpoints: PostgreSQL killed before the first checkpoint since
// pg_receivewal began streaming brings the slot back with no restart_lsn (seen in pitr-server-restart under load).
// pg_receivewal with an empty incoming folder would then start at the server's current segment, and the WAL written
// in between would be a gap that ends the window. This test makes that state for certain (the slot dropped and made
// anew without a position, two segment switches while nothing streams) and shows that the resume point, the newest
// sealed segment kept in incoming, carries the stream over it. The test's own cluster, never the shared one.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePitrWorld, startPitrWorldWithWindow, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorldWithWindow({ windowTimeoutMs: 110_000 });
});

afterAll(() => closePitrWorld(world));

describe('where pg_receivewal resumes', { timeout: 180_000 }, () => {
  it('a slot that comes back without a saved position: capture resumes after the newest sealed segment, no gap', async () => {
    await world.query("INSERT INTO docs (body) VALUES ('before the slot lost its position')");
    const before = await world.coveredUntil(new Date().toISOString(), 150_000);
    const newest = before.segments.at(-1)!.segment;
    await until('the resume point in incoming', async () =>
      existsSync(join(world.directory, 'pitr', 'incoming', newest)) ? true : undefined,
    );
    await world.capture.stop();
    // What a crash before the first checkpoint since streaming began leaves: the slot, with no restart_lsn.
    await world.query("SELECT pg_drop_replication_slot('bomnipotent_backup')");
    await world.query("SELECT pg_create_physical_replication_slot('bomnipotent_backup')");
    // WAL written while nothing streams, over two segment switches: the server's current segment moves on.
    for (const body of ['while stopped 1', 'while stopped 2']) {
      await world.query('INSERT INTO docs (body) VALUES ($1)', [body]);
      await world.query('SELECT pg_switch_wal()');
    }
    await world.restartCapture();
    await world.query("INSERT INTO docs (body) VALUES ('after the capture started again')");
    const after = await world.coveredUntil(new Date().toISOString(), 150_000);
    expect(world.logger.lines.filter((l) => /is missing/.test(l))).toEqual([]);
    expect(after.problem).toBeNull();
    expect(after.window!.earliest).toBe(before.window!.earliest);
    expect(after.bases).toHaveLength(before.bases.length);
    const numbers = after.segments.map((s) => parseInt(s.segment.slice(8), 16));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect(numbers.at(-1)).toBeGreaterThan(parseInt(newest.slice(8), 16) + 2);
  });
});
