// Faults of continuous protection, caused for real against a running capture: pg_receivewal killed (SIGKILL) in the
// middle of a segment starts again and leaves no gap; killed while it pads a new segment (the .partial cut short, which
// pg_receivewal itself refuses on every restart) the segment is padded, streamed again, and the window goes on; the
// newest sealed segment deleted is named as a gap as soon as the next one is sealed (the window ends before it, a
// restore to a point past it is refused), and capture goes on: a new base backup starts a new window after the gap.
import { readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRecovery } from '../../handlers/pitr/window';
import { closePitrWorld, receiverPid, startPitrWorldWithWindow, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

let world: PitrWorld;
const SEGMENT_BYTES = 16 * 1024 * 1024;

/** The size of a .partial pg_receivewal is padding (more than 0, less than a segment), polled as fast as it goes. */
async function paddingPartial(incoming: string, known: Set<string>, deadline: number) {
  while (Date.now() < deadline) {
    for (const name of await readdir(incoming)) {
      if (!name.endsWith('.partial') || known.has(name)) continue;
      const size = (await stat(join(incoming, name)).catch(() => null))?.size ?? 0;
      if (size > 0 && size < SEGMENT_BYTES) return name;
    }
  }
  return undefined;
}

/** SIGKILLs pg_receivewal while it pads a new segment; returns the .partial it left short. */
async function killWhilePadding(incoming: string): Promise<string> {
  for (let attempt = 1; attempt <= 30; attempt += 1) {
    const pid = await until('the pg_receivewal process', receiverPid);
    const known = new Set((await readdir(incoming)).filter((n) => n.endsWith('.partial')));
    await world.query('SELECT pg_switch_wal()');
    void world.query("INSERT INTO docs (body) VALUES ('opens a segment')");
    const name = await paddingPartial(incoming, known, Date.now() + 3_000);
    if (!name) continue;
    process.kill(pid, 'SIGKILL');
    await until('pg_receivewal gone', async () => ((await receiverPid()) !== pid ? true : undefined));
    const size = (await stat(join(incoming, name)).catch(() => null))?.size;
    if (size !== undefined && size < SEGMENT_BYTES) return name;
  }
  throw new Error('pg_receivewal finished padding before every kill (30 attempts)');
}

beforeAll(async () => {
  // The first base backup and a window, before the faults (slow on a loaded machine).
  world = await startPitrWorldWithWindow({ windowTimeoutMs: 110_000 });
});

afterAll(() => closePitrWorld(world));

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

  it('pg_receivewal killed while it pads a new segment: the .partial is padded and streamed again, no gap', async () => {
    const before = await world.coveredUntil(new Date().toISOString(), 150_000);
    const cut = await killWhilePadding(join(world.directory, 'pitr', 'incoming'));
    await until('the receiver restarted', async () =>
      (await receiverPid()) !== undefined ? true : undefined,
    );
    await world.query("INSERT INTO docs (body) VALUES ('after the cut segment')");
    const after = await world.coveredUntil(new Date().toISOString(), 150_000);
    const padded = world.logger.lines.filter((l) => l.includes(`${cut} has `));
    expect(padded[0]).toMatch(
      new RegExp(
        `^\\[WARN\\] Continuous protection: ${cut} has \\d+ bytes, not 0 or 16777216 \\(pg_receivewal was stopped while it prepared the segment\\); it was padded`,
      ),
    );
    expect(world.logger.lines.some((l) => /should be 0 or/.test(l))).toBe(false);
    expect(after.problem).toBeNull();
    expect(after.window!.earliest).toBe(before.window!.earliest);
    const numbers = after.segments.map((s) => parseInt(s.segment.slice(8), 16));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect(after.segments.map((s) => s.segment)).toContain(cut.replace('.partial', ''));
  });

  it('a deleted newest segment: the gap is named, a restore past it refused, and capture goes on from a new base', async () => {
    await world.query("INSERT INTO docs (body) VALUES ('victim')");
    const covered = await world.coveredUntil(new Date().toISOString(), 150_000);
    const { newest, previous } = await deleteNewestSegment();
    // The next sealed segment does not follow the newest one left: the WAL has a gap there.
    await world.query("INSERT INTO docs (body) VALUES ('next')");
    const cut = await until('the gap to show', async () => {
      const c = await world.catalog();
      return c.problem ? c : undefined;
    });
    expect(cut.problem).toBe(
      `the WAL has a gap: ${newest.segment} is missing after ${previous.file} (a sealed segment was removed, or the replication slot was lost); the window ends before it until the next base backup`,
    );
    expect(cut.window!.latest < newest.coversUntil!).toBe(true);
    expect(planRecovery(cut, newest.coversUntil!)).toEqual({
      refused: `The target ${newest.coversUntil!} is outside the restorable window ${cut.window!.earliest} to ${cut.window!.latest}.`,
    });
    const lines = world.logger.lines.join('\n');
    expect(lines).toContain(
      `[ERROR] Continuous protection: the newest sealed file ${newest.file} (sequence ${newest.sequence}) was removed`,
    );
    expect(lines).toMatch(
      new RegExp(
        `\\[ERROR\\] Continuous protection: the WAL between ${previous.segment} and [0-9A-F]{24} is missing .* a new base backup is taken now`,
      ),
    );
    // Capture goes on: a new base backup starts a new window after the gap, and it keeps up with new commits.
    await world.query("INSERT INTO docs (body) VALUES ('after the gap')");
    const resumed = await world.coveredUntil(new Date().toISOString(), 150_000);
    expect(resumed.problem).toBeNull();
    expect(resumed.bases.length).toBe(covered.bases.length + 1);
    expect(resumed.window!.earliest > newest.coversUntil!).toBe(true);
  });
});

/** Deletes the newest sealed segment (manifest and data); again when the capture sealed a later one meanwhile. */
async function deleteNewestSegment() {
  const root = join(world.directory, 'pitr');
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    const catalog = await world.catalog();
    const [previous, newest] = catalog.segments.slice(-2);
    const files = [`${newest!.file}.manifest.json`, newest!.file].map((f) => join(root, f));
    const kept = await Promise.all(files.map((f) => readFile(f)));
    for (const f of files) await unlink(f);
    const later = (await readdir(join(root, 'wal'))).some((n) => n > `${newest!.segment}.zst.manifest.json`);
    if (!later) return { newest: newest!, previous: previous! };
    for (const [i, f] of files.entries()) await writeFile(f, kept[i]!); // not the newest: put it back, again
  }
  throw new Error('the capture sealed a later segment before every deletion (5 attempts)');
}
