// The signed tail against real PostgreSQL: with seal_interval 300 s no segment is sealed after the window's first one,
// so only the tail (every second) moves the recovery point. A steady writer records each commit's send and
// acknowledgement time; capture is stopped while it writes. The window then ends within about tail_interval of the
// last acknowledged commit, and a restore to that point holds every commit acknowledged before it and none sent after
// it. A forged tail (other bytes, another key, another chain head) is not used: the window ends at the sealed point,
// the log and the refusal say why, and a restore inside the sealed part does not need it.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSignedEnvelope } from '../../handlers/backup/manifest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import type { PitrTail } from '../../handlers/pitr/tail-manifest';
import type { PitrPlan } from '../../handlers/pitr/window';
import { holdTail } from '../../runtime/pitr/tail-hold';
import { testSigner } from '../support/backup-signer';
import { startPitrRestoreWorld, writtenRows, type PitrWorld, type TimedCommit } from '../support/pitr-world';
import { TEST_SIGNER, type RealRestoreWorld } from '../support/restore-real';

let world: PitrWorld;
let real: RealRestoreWorld;
const commits: TimedCommit[] = [];
let stoppedAt = 0;

const rowsNow = () => writtenRows(world);

/** Commits every ~30 ms until `stop` resolves, each with when it was sent and acknowledged. */
async function writeUntil(stop: Promise<void>): Promise<void> {
  let done = false;
  void stop.then(() => (done = true));
  for (let n = 1; !done; n++) {
    const sentAt = Date.now();
    await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
    commits.push({ n, sentAt, ackAt: Date.now() });
    await new Promise((r) => setTimeout(r, 30));
  }
}

beforeAll(async () => {
  ({ world, real } = await startPitrRestoreWorld({
    capture: { sealIntervalMs: 300_000, tailIntervalMs: 1000 },
  }));
  // Capture stops abruptly while the writer goes on: whatever was not in a tail by then is not restorable.
  const stop = new Promise<void>((resolve) => setTimeout(resolve, 8000)).then(async () => {
    stoppedAt = Date.now();
    await world.capture.stop();
    await new Promise((r) => setTimeout(r, 500));
  });
  await writeUntil(stop);
});

afterAll(async () => {
  await real?.close();
  await world?.close();
});

/** The tail in the folder: its manifest file's path and the signed tail in it. */
async function tailFiles(): Promise<{ manifestPath: string; dataPath: string; tail: PitrTail }> {
  const folder = join(world.directory, 'pitr', 'tail');
  const name = (await readdir(folder)).find((n) => n.endsWith('.manifest.json'))!;
  const manifestPath = join(folder, name);
  const read = readSignedEnvelope(await readFile(manifestPath, 'utf8'));
  if (!read.ok) throw new Error(read.reason);
  return {
    manifestPath,
    dataPath: manifestPath.slice(0, -'.manifest.json'.length),
    tail: read.data.manifest as PitrTail,
  };
}

describe('the signed tail', () => {
  it('moves the window to within tail_interval of the last commit acknowledged before capture stopped', async () => {
    const catalog = await world.catalog();
    const lastAck = Math.max(...commits.filter((c) => c.ackAt <= stoppedAt).map((c) => c.ackAt));
    const latest = Date.parse(catalog.window!.latest);
    console.log(
      `window latest ${catalog.window!.latest}: ${((lastAck - latest) / 1000).toFixed(2)} s before the last acknowledged commit; sealed point ${((lastAck - Date.parse(catalog.sealedLatest!)) / 1000).toFixed(2)} s before`,
    );
    expect(catalog.tail).not.toBeNull();
    expect(catalog.tailProblem).toBeNull();
    // tail_interval (1 s) plus a round in progress when capture stopped, with room for a loaded CI machine; without
    // the tail the window ends at the base backup, 8–9 s before.
    expect(lastAck - latest).toBeLessThan(1000 + 3500);
    expect(catalog.sealedLatest! < catalog.window!.latest).toBe(true);
  });

  it('is not used when forged: other bytes, another key, another chain head; a sealed point still restores', async () => {
    const { manifestPath, dataPath, tail } = await tailFiles();
    const [manifestText, data] = [await readFile(manifestPath, 'utf8'), await readFile(dataPath)];
    const sealed = (await world.catalog()).sealedLatest!;
    const other = testSigner();
    const forgeries: [string, () => Promise<void>, RegExp][] = [
      [
        'other bytes',
        () => writeFile(dataPath, Buffer.from(data.map((b, i) => (i === data.length - 1 ? b ^ 0xff : b)))),
        /SHA-256 .* differs/,
      ],
      ['another key', async () => writeFile(manifestPath, await other.signPitrTail!(tail)), /not trusted/],
      [
        'another head',
        async () =>
          writeFile(
            manifestPath,
            await TEST_SIGNER.signPitrTail!({ ...tail, previousManifestSha256: 'e'.repeat(64) }),
          ),
        /not in the chain/,
      ],
    ];
    try {
      for (const [what, forge, why] of forgeries) {
        await forge();
        const catalog = await world.catalog();
        expect(catalog.window!.latest, what).toBe(sealed);
        expect(catalog.tailProblem, what).toMatch(why);
        await expect(
          restoreToPoint({ user: 'admin@example.com', to: tail.coversUntil, dryRun: true }, real.ctx),
          what,
        ).rejects.toThrow(why);
        expect(
          real.logs.some((line) => why.test(line) && line.includes('is not used')),
          what,
        ).toBe(true);
        const inside = await restoreToPoint(
          { user: 'admin@example.com', to: sealed, dryRun: true },
          real.ctx,
        );
        expect(inside.segments, what).toBeGreaterThan(0);
        await writeFile(manifestPath, manifestText);
        await writeFile(dataPath, data);
      }
    } finally {
      await writeFile(manifestPath, manifestText);
      await writeFile(dataPath, data);
    }
  });

  it('is held for a restore: copied before the writer can replace it, or stood in for by the tail that replaced it', async () => {
    const { dataPath, tail } = await tailFiles();
    const plan = (await world.catalog()).tail!;
    expect(plan.file).toBe(tail.file);
    const root = await mkdtemp(join(tmpdir(), 'pitr-hold-'));
    const hold = (planned: PitrTail, target = planned.coversUntil) =>
      holdTail({
        directory: world.directory,
        root,
        plan: { tail: planned } as PitrPlan,
        target,
        trustedKeys: [TEST_SIGNER.publicKey],
      });
    try {
      const held = await hold(plan);
      expect(held).toMatchObject({ kind: 'tail', tail: { file: plan.file } });
      const copy = join((held as { directory: string }).directory, 'pitr', plan.file);
      expect((await readFile(copy)).equals(await readFile(dataPath))).toBe(true);
      // Planned with a tail the writer removed since: the one that replaced it (same head, same segment) serves.
      const removed = { ...plan, file: plan.file.replace(/-[0-9A-F]{8}\./, '-00000001.') };
      expect(await hold(removed, removed.coversUntil)).toMatchObject({
        kind: 'tail',
        tail: { file: plan.file },
      });
      // ... unless it does not reach the target: a clear refusal, nothing else.
      const later = new Date(Date.parse(plan.coversUntil) + 60_000).toISOString();
      await expect(hold(removed, later)).rejects.toThrow(/was replaced while the restore .* started/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('restores to the latest point: every commit acknowledged before it, none sent after it', async () => {
    const catalog = await world.catalog();
    const target = catalog.window!.latest;
    const at = Date.parse(target);
    const dry = await restoreToPoint({ user: 'admin@example.com', to: target, dryRun: true }, real.ctx);
    expect(real.logs.some((line) => line.includes('the signed tail pitr/tail/'))).toBe(true);
    const result = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx);
    expect(result.segments).toBe(dry.segments);
    const present = new Set(await rowsNow());
    const acknowledged = commits.filter((c) => c.ackAt <= at).map((c) => c.n);
    const sentAfter = commits.filter((c) => c.sentAt > at).map((c) => c.n);
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(sentAfter.length).toBeGreaterThan(0);
    for (const n of acknowledged)
      expect(present.has(n), `commit ${n} acknowledged before the target`).toBe(true);
    for (const n of sentAfter) expect(present.has(n), `commit ${n} sent after the target`).toBe(false);
  });
});
