// PostgreSQL restarted while continuous protection captures, for real: the private cluster is killed (pg_ctl -m
// immediate, a crash as far as the data directory knows) and started again. pg_receivewal loses its connection,
// starts again from the partial segment it kept or after the newest sealed one (the resume point), and the window
// goes on without a gap: one window, consecutive segments, a commit made after the restart covered. Never the shared
// cluster: this one is the test's own. (pitr-resume-point.test.ts makes for certain the state a crash can leave.)
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { receiverPid, startPitrWorld, type PitrWorld, waitForWindow } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld();
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
  await waitForWindow(world, 110_000);
});

afterAll(async () => {
  if (process.env.PITR_DEBUG) console.log(world?.logger.lines.join('\n'));
  await world?.close();
});

describe('continuous protection across a PostgreSQL restart', { timeout: 180_000 }, () => {
  it('a crash restart of the server while capturing: the receiver reconnects and the window goes on, no gap', async () => {
    await world.query("INSERT INTO docs (body) SELECT 'before' FROM generate_series(1, 500)");
    const before = await world.coveredUntil(new Date().toISOString(), 150_000);
    const pid = await until('the pg_receivewal process', receiverPid);
    await world.cluster.crashRestart();
    // The world's own session died with the server: write through a new one.
    const client = new pg.Client({ connectionString: world.appUrl });
    await client.connect();
    try {
      await until('the receiver started again', async () => {
        const next = await receiverPid();
        return next !== undefined && next !== pid ? true : undefined;
      });
      await client.query("INSERT INTO docs (body) VALUES ('after the restart')");
      const after = await world.coveredUntil(new Date().toISOString(), 150_000);
      expect(
        world.logger.lines.some((l) => /pg_receivewal stopped \(exit \d+\).*restarts in 5 s/.test(l)),
      ).toBe(true);
      expect(after.problem).toBeNull();
      expect(after.window!.earliest).toBe(before.window!.earliest); // one window across the restart
      expect(after.bases).toHaveLength(before.bases.length); // no new base backup was needed
      const numbers = after.segments.map((s) => parseInt(s.segment.slice(8), 16));
      expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*) AS n FROM docs WHERE body = 'before'",
      );
      expect(rows[0]!.n).toBe('500');
    } finally {
      await client.end().catch(() => {});
    }
  });
});
