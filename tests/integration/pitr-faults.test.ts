// Faults of continuous protection, caused for real against a running capture: pg_receivewal killed (SIGKILL) in the
// middle of a segment starts again and leaves no gap; the newest sealed segment deleted is seen as soon as the next
// one is sealed (the chain breaks, the window ends before it) and a restore to a point past it is refused.
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRecovery } from '../../handlers/pitr/window';
import { receiverPid, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld();
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
  // The first base backup and a window, before the faults (slow on a loaded machine).
  await until(
    'a restorable window',
    async () => ((await world.catalog()).window ? true : undefined),
    110_000,
  );
});

afterAll(async () => {
  if (process.env.PITR_DEBUG) console.log(world?.logger.lines.join('\n'));
  await world?.close();
});

describe('continuous protection under faults', { timeout: 180_000 }, () => {
  it('pg_receivewal killed mid-segment starts again and leaves no gap', async () => {
    await world.query("INSERT INTO docs (body) VALUES ('before')");
    const before = await world.coveredUntil(new Date().toISOString(), 150_000);
    const pid = await until('the pg_receivewal process', receiverPid);
    await world.query("INSERT INTO docs (body) SELECT 'mid-segment' FROM generate_series(1, 2000)");
    process.kill(pid, 'SIGKILL');
    await until('the receiver restarted', async () => {
      const next = await receiverPid();
      return next !== undefined && next !== pid ? true : undefined;
    });
    await world.query("INSERT INTO docs (body) VALUES ('after')");
    const after = await world.coveredUntil(new Date().toISOString(), 150_000);
    expect(
      world.logger.lines.some((l) => /pg_receivewal stopped \(exit null\).*restarts in 5 s/.test(l)),
    ).toBe(true);
    expect(after.problem).toBeNull();
    expect(after.window!.earliest).toBe(before.window!.earliest); // one window: no gap in the WAL
    const numbers = after.segments.map((s) => parseInt(s.segment.slice(8), 16));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
  });

  it('a deleted newest segment cuts the window, and a restore past it is refused', async () => {
    await world.query("INSERT INTO docs (body) VALUES ('victim')");
    const covered = await world.coveredUntil(new Date().toISOString(), 150_000);
    const newest = covered.segments.at(-1)!;
    await unlink(join(world.directory, 'pitr', `${newest.file}.manifest.json`));
    await unlink(join(world.directory, 'pitr', newest.file));
    // The next sealed segment names the deleted one as its predecessor: the chain breaks there.
    await world.query("INSERT INTO docs (body) VALUES ('next')");
    const cut = await until('the break to show', async () => {
      const c = await world.catalog();
      return c.problem ? c : undefined;
    });
    expect(cut.problem).toMatch(
      /^the chain breaks after wal\/[0-9A-F]{24}\.zst \(sequence \d+\): .* does not follow it/,
    );
    expect(cut.window!.latest < newest.coversUntil!).toBe(true);
    const refused = planRecovery(cut, newest.coversUntil!);
    expect(refused).toEqual({
      refused: `The target ${newest.coversUntil!} is outside the restorable window ${cut.window!.earliest} to ${cut.window!.latest}.`,
    });
  });
});
