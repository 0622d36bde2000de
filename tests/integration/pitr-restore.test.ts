// Restore to a point against real PostgreSQL: a writer records every commit's send and acknowledgement time; a restore
// to T, recovered in a temporary instance from the base backup and the sealed WAL, then swapped in through the
// complete restore's path, holds every commit acknowledged at or before T and none sent after it. A target outside
// the window and a forged segment are refused with one line, and the database is left as it was.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import { systemClock } from '../../runtime/observability/system-clock';
import { startPitrWorld, type PitrWorld } from '../support/pitr-world';
import {
  createRealContext,
  migrateToLatest,
  TEST_SIGNER,
  type RealRestoreWorld,
} from '../support/restore-real';
import { until } from '../support/until';

interface Commit {
  n: number;
  sentAt: number;
  ackAt: number;
}

let world: PitrWorld;
let real: RealRestoreWorld;
const commits: Commit[] = [];

async function rowsNow(): Promise<number[]> {
  const client = new pg.Client({ connectionString: world.appUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT n FROM writes ORDER BY n');
    return rows.map((r) => r.n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  world = await startPitrWorld({ signer: TEST_SIGNER });
  real = createRealContext({ url: world.appUrl, directory: world.directory });
  real.settings = {
    ...real.settings,
    continuous: {
      slot: 'bomnipotent_backup',
      baseBackupPeriodMs: 86_400_000,
      sealIntervalMs: 1000,
      maxHeldWalBytes: 2 ** 30,
      pitrWindowMs: null,
    },
  };
  real.pitr = { dbUrl: world.appUrl, logger: real.ctx.logger, clock: systemClock() };
  await migrateToLatest(real);
  await world.query('CREATE TABLE writes (n int PRIMARY KEY)');
  await until('a restorable window', async () => ((await world.catalog()).window ? true : undefined), 60_000);
  // The writer: one commit every ~30 ms, each with the instant it was sent and the instant it was acknowledged.
  for (let n = 1; n <= 60; n++) {
    const sentAt = Date.now();
    await world.query('INSERT INTO writes (n) VALUES ($1)', [n]);
    commits.push({ n, sentAt, ackAt: Date.now() });
    await new Promise((r) => setTimeout(r, 30));
  }
  await world.coveredUntil(new Date(commits.at(-1)!.ackAt + 1).toISOString());
});

afterAll(async () => {
  await real?.close();
  await world?.close();
});

describe('restore to a point', () => {
  it('refuses a target outside the window, naming the window, and changes nothing', async () => {
    const before = await rowsNow();
    const target = new Date(Date.now() + 3_600_000).toISOString();
    await expect(restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx)).rejects.toMatchObject({
      code: 'PITR.OUTSIDE_WINDOW',
      message: expect.stringMatching(
        new RegExp(`^The target ${target} is outside the restorable window .+ to .+\\.$`),
      ),
    });
    expect(await rowsNow()).toEqual(before);
  });

  it('a dry run names the base backup and the segments and changes nothing', async () => {
    const target = new Date(commits[30]!.ackAt + 1).toISOString();
    const result = await restoreToPoint({ user: 'admin@example.com', to: target, dryRun: true }, real.ctx);
    expect(result).toMatchObject({ target, dryRun: true, base: expect.stringMatching(/^pitr\/base\//) });
    expect(result.segments).toBeGreaterThan(0);
    expect(await rowsNow()).toHaveLength(60);
  });

  it('holds every commit acknowledged at or before the target and none sent after it', async () => {
    const k = 25;
    // Between the acknowledgement of commit k and the sending of commit k + 1.
    const at = Math.floor((commits[k - 1]!.ackAt + commits[k]!.sentAt) / 2);
    const target = new Date(at).toISOString();
    const started = Date.now();
    const result = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx);
    console.log(
      `restored to a point in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.segments} segments)`,
    );
    const present = new Set(await rowsNow());
    const acknowledged = commits.filter((c) => c.ackAt <= at).map((c) => c.n);
    const sentAfter = commits.filter((c) => c.sentAt > at).map((c) => c.n);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(sentAfter.length).toBeGreaterThan(0);
    for (const n of acknowledged)
      expect(present.has(n), `commit ${n} acknowledged before the target`).toBe(true);
    for (const n of sentAfter) expect(present.has(n), `commit ${n} sent after the target`).toBe(false);
  });

  it('refuses a forged segment before the instance starts, and the database stays as it was', async () => {
    const catalog = await world.catalog();
    const before = await rowsNow();
    const target = catalog.window!.latest;
    const victim = catalog.segments.filter((s) => s.coversUntil !== null).at(-1)!;
    const path = join(world.directory, 'pitr', victim.file);
    const bytes = await readFile(path);
    const forged = Buffer.from(bytes);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff; // same size, other bytes
    await writeFile(path, forged);
    try {
      await expect(restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx)).rejects.toThrow(
        `The file pitr/${victim.file} does not match its signed manifest: its SHA-256 differs (forged or altered).`,
      );
    } finally {
      await writeFile(path, bytes);
    }
    expect(await rowsNow()).toEqual(before);
  });
});
