// pitr_window against a real capture: base backups every few seconds and a window of a few seconds; the server removes
// what is older than the window and never what a restore to the window's start needs. Then, with the capture stopped,
// the same retention with a fixed "now" (a fake clock) keeps exactly the newest base backup that ended before the
// cutoff, everything after it, and nothing before it.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRecovery } from '../../handlers/pitr/window';
import { prunePitr } from '../../runtime/pitr/prune';
import { closePitrWorld, startPitrWorld, type PitrWorld } from '../support/pitr-world';
import { until } from '../support/until';

const WINDOW_MS = 6_000;
let world: PitrWorld;

beforeAll(async () => {
  world = await startPitrWorld({ baseBackupPeriodMs: 2_500, pitrWindowMs: WINDOW_MS, pruneMs: 300 });
  await world.query('CREATE TABLE docs (id serial PRIMARY KEY, body text)');
});

afterAll(() => closePitrWorld(world));

const files = async (sub: 'base' | 'wal') =>
  (await readdir(join(world.directory, 'pitr', sub))).filter((n) => !n.endsWith('.manifest.json'));

describe('pitr_window', () => {
  it('removes base backups and segments older than the window, keeping what its start needs', async () => {
    const first = await until('the first base backup', async () => (await world.catalog()).bases[0]);
    const seen = new Set<string>();
    await until(
      'the first base backup and a segment to age out of the window',
      async () => {
        await world.query("INSERT INTO docs (body) VALUES ('tick')");
        const wal = await files('wal');
        const gone = [...seen].some((f) => !wal.includes(f));
        for (const f of wal) seen.add(f);
        // The line comes once the whole prune is done (after the files it removes, each fsynced): wait for it too.
        const logged = world.logger.lines.some((l) => /removed \d+ base backup\(s\) and/.test(l));
        return gone && logged && !(await files('base')).includes(first.file.slice('base/'.length))
          ? true
          : undefined;
      },
      90_000,
    );
    const catalog = await world.catalog();
    expect(catalog.problem).toBeNull();
    expect(catalog.bases.length).toBeGreaterThanOrEqual(1);
    expect(
      world.logger.lines.some((l) =>
        /removed \d+ base backup\(s\) and \d+ WAL segment\(s\) older than pitr_window/.test(l),
      ),
    ).toBe(true);
    // The oldest point the window promises is still restorable.
    const oldestKept = new Date(Date.now() - WINDOW_MS).toISOString();
    expect(planRecovery(catalog, oldestKept)).toHaveProperty('base');
  });

  it('with a fixed clock: keeps the newest base backup ended before the cutoff and all after it, nothing before', async () => {
    // A base backup is usable once WAL is sealed past its end: a restore to just after its end starts from it.
    type Catalog = Awaited<ReturnType<PitrWorld['catalog']>>;
    const cutoffAfter = (base: Catalog['bases'][number]) => new Date(Date.parse(base.coversUntil!) + 1);
    const usable = (c: Catalog, i: number) => {
      const plan = c.bases[i] && planRecovery(c, cutoffAfter(c.bases[i]).toISOString());
      return plan !== undefined && 'base' in plan && plan.base.file === c.bases[i]!.file;
    };
    // Three base backups, the second and third usable (the capture's own retention may still take the first one
    // before it stops; a second base backup after the first stays usable then).
    await until(
      'three base backups, the second and third usable',
      async () => {
        const c = await world.catalog();
        return c.bases.length >= 3 && usable(c, 1) && usable(c, 2) ? true : undefined;
      },
      90_000,
    );
    await world.capture.stop();
    const before = await world.catalog();
    const index = usable(before, 1) ? 1 : 2;
    const kept = before.bases[index]!;
    // The cutoff a millisecond after that base backup ended: it is the base a restore to the cutoff needs.
    const cutoff = cutoffAfter(kept);
    const removed = await prunePitr({
      directory: world.directory,
      trustedKeys: [world.signer.publicKey],
      windowMs: 86_400_000,
      now: new Date(cutoff.getTime() + 86_400_000),
      logger: world.logger,
    });
    const after = await world.catalog();
    expect(after.problem).toBeNull();
    expect(after.bases.map((b) => b.file)).toEqual(before.bases.slice(index).map((b) => b.file));
    for (const gone of before.bases.slice(0, index)) expect(removed).toContain(gone.file);
    // Only segments before the kept base's start went (a segment sealed after a needed file stays, to keep the chain
    // unbroken; the next run takes it), and every segment from its start on is still there.
    const removedWal = removed.filter((f) => f.startsWith('wal/'));
    expect(removedWal.length).toBeGreaterThan(0);
    for (const file of removedWal) expect(file < `wal/${kept.segment}`).toBe(true);
    const needed = before.segments.filter((s) => s.segment >= kept.segment).map((s) => s.file);
    expect(after.segments.map((s) => s.file)).toEqual(expect.arrayContaining(needed));
    expect(planRecovery(after, cutoff.toISOString())).toMatchObject({ base: { file: kept.file } });
    expect(planRecovery(after, after.window!.latest)).toHaveProperty('base');
    // Run again with the same clock: nothing more goes.
    expect(
      await prunePitr({
        directory: world.directory,
        trustedKeys: [world.signer.publicKey],
        windowMs: 86_400_000,
        now: new Date(cutoff.getTime() + 86_400_000),
        logger: world.logger,
      }),
    ).toEqual([]);
  });
});
