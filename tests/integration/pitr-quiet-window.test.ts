// A database nobody writes to still gets its restorable window as soon as the first base backup is sealed. The
// base backup ends with PostgreSQL's own WAL switch, which notes no covered instant, so the capture closes the next
// segment itself with a marked switch. Without it the window waited for the next WAL record: the background
// writer's standby snapshot within 15 s, or, when that came just before, the next checkpoint (5 min); under load
// tests timed out on it. Here the background writer and the autovacuum launcher are stopped (SIGSTOP) so that the
// server writes no WAL of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { closePitrWorld, startPitrWorld, waitForWindow, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld | undefined;
let stopped: number[] = [];

beforeAll(async () => {
  world = await startPitrWorld({
    beforeCapture: async (cluster) => {
      const client = new pg.Client({ connectionString: cluster.superuserUrl() });
      await client.connect();
      const { rows } = await client.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE backend_type IN ('background writer', 'autovacuum launcher')",
      );
      await client.end();
      stopped = rows.map((r) => r.pid);
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    },
  });
});

afterAll(async () => {
  for (const pid of stopped) process.kill(pid, 'SIGCONT');
  await closePitrWorld(world);
});

describe('continuous protection of a database nobody writes to', { timeout: 180_000 }, () => {
  it('has a restorable window from the first base backup on, without waiting for a write', async () => {
    expect(stopped).toHaveLength(2);
    await until(
      'the first base backup',
      async () => ((await world!.catalog()).bases.length > 0 ? true : undefined),
      110_000,
    );
    // Far less than the checkpoint_timeout (5 min) that would otherwise bring the next WAL record.
    const catalog = await waitForWindow(world!, 60_000);
    const base = catalog.bases[0]!;
    expect(catalog.window!.earliest).toBe(base.coversUntil);
    expect(catalog.window!.latest >= base.coversUntil!).toBe(true);
    expect(catalog.problem).toBeNull();
  });
});
