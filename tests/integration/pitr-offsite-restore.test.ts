// Restore to a point on a fresh server, from the off-site store alone: a real capture copies its base backup and WAL
// to a real S3 protocol server (s3rver), then the local PITR folder is lost. A dry run names what a restore would
// download and downloads nothing; the restore downloads the base backup and the segments it needs, each checked
// against its signed manifest, and recovers exactly the target; an object altered in the store is refused by name
// and the database stays as it was. Nothing downloaded stays behind.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreToPoint } from '../../handlers/pitr/restore-to-point';
import { manifestNaming } from '../../runtime/offsite/naming';
import { offsiteSettings, testStore } from '../support/offsite-fixture';
import { freshBucket, s3Suite } from '../support/offsite-world';
import { commitWrites, startPitrRestoreWorld, type PitrWorld, type TimedCommit } from '../support/pitr-world';
import type { RealRestoreWorld } from '../support/restore-real';
import { until } from '../support/until';

const suite = s3Suite();
let world: PitrWorld;
let real: RealRestoreWorld;
let bucket: string;
const commits: TimedCommit[] = [];

const naming = manifestNaming((name) => !name.endsWith('.manifest.json'), '.manifest.json');
const storeOf = (sub: 'base' | 'wal') =>
  testStore(offsiteSettings(suite.server.endpoint, bucket, { prefix: `bomnipotent/pitr/${sub}/` }), {
    naming,
  });

async function rowsNow(): Promise<number[]> {
  const client = new pg.Client({ connectionString: world.appUrl });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('SELECT n FROM writes ORDER BY n')).rows.map((r) => r.n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  bucket = await freshBucket(suite.server, 'pitr-restore');
  const offsite = offsiteSettings(suite.server.endpoint, bucket);
  ({ world, real } = await startPitrRestoreWorld({ offsite }));
  commits.push(...(await commitWrites(world, 30)));
  const local = await world.coveredUntil(new Date(commits.at(-1)!.ackAt + 1).toISOString());
  const sealed = [...local.bases, ...local.segments].map((m) => m.file);
  await until(
    'every sealed file off-site',
    async () => {
      const there: string[] = [];
      for (const sub of ['base', 'wal'] as const)
        for (const b of (await storeOf(sub).list()).backups) there.push(`${sub}/${b.file}`);
      return sealed.every((f) => there.includes(f)) ? true : undefined;
    },
    90_000,
  );
  // A fresh server: no capture here yet, the PITR folder gone.
  await world.capture.stop();
  await rm(join(world.directory, 'pitr'), { recursive: true, force: true });
}, 300_000);

afterAll(async () => {
  await real?.close();
  await world?.close();
});

const leftovers = async () => (await readdir(world.directory)).filter((n) => n.startsWith('.pitr-fetch-'));

describe('restore to a point from the off-site store', () => {
  it('a dry run names what it would download and downloads nothing', async () => {
    const target = new Date(commits[20]!.ackAt + 1).toISOString();
    const result = await restoreToPoint({ user: 'admin@example.com', to: target, dryRun: true }, real.ctx);
    expect(result.download).toMatchObject({ location: expect.stringContaining(bucket) });
    expect(result.download!.files).toBe(result.segments + 1);
    expect(result.download!.bytes).toBeGreaterThan(0);
    expect(real.logs.some((l) => l.includes(`would download ${result.download!.files} file(s)`))).toBe(true);
    expect(await leftovers()).toEqual([]);
    expect(await readdir(world.directory)).not.toContain('pitr');
  });

  it('downloads, checks and recovers exactly the target; nothing downloaded stays', async () => {
    const k = 15;
    const at = Math.floor((commits[k - 1]!.ackAt + commits[k]!.sentAt) / 2);
    const started = Date.now();
    const result = await restoreToPoint(
      { user: 'admin@example.com', to: new Date(at).toISOString() },
      real.ctx,
    );
    console.log(
      `restored to a point from the store in ${((Date.now() - started) / 1000).toFixed(1)} s (${result.download?.files} files, ${result.download?.bytes} bytes downloaded)`,
    );
    expect(await rowsNow()).toEqual(commits.filter((c) => c.ackAt <= at).map((c) => c.n));
    expect(commits.some((c) => c.sentAt > at)).toBe(true);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a base backup altered in the store, by name, and changes nothing', async () => {
    const before = await rowsNow();
    const target = new Date(commits.at(-1)!.ackAt + 1).toISOString();
    const plan = await restoreToPoint({ user: 'admin@example.com', to: target, dryRun: true }, real.ctx);
    // The base backup: every plan needs it. Same size, other bytes.
    const victim = (await storeOf('base').list()).backups[0]!;
    const s3 = storeOf('base').client;
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `bomnipotent/pitr/base/${victim.file}`,
        Body: Buffer.alloc(victim.sizeBytes, 1),
      }),
    );
    expect(plan.download!.files).toBeGreaterThan(0);
    const failed = await restoreToPoint({ user: 'admin@example.com', to: target }, real.ctx).catch(
      (e: unknown) => e as Error,
    );
    expect((failed as Error).message).toContain(
      `the downloaded ${victim.file} does not match its manifest's SHA-256`,
    );
    expect(await rowsNow()).toEqual(before);
    expect(await leftovers()).toEqual([]);
  });
});
