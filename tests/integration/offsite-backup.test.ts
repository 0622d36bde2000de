// Off-site copies in the real backup flow: real PostgreSQL, the real executor and a real S3 protocol server.
// Every backup lands in the store within its run; a store outage keeps the local backup and heals on the next run;
// off-site retention; and a fresh server with an empty database and directory restores from the store alone.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackup } from '../../handlers/backup/create-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { listBackupsWithLocations } from '../../handlers/offsite/list';
import type { OffsiteSettings } from '../../handlers/offsite/ports';
import { format1 } from '../../runtime/offsite/format';
import { createOffsiteHooks } from '../../runtime/offsite/hooks';
import { createMetricsRegistry } from '../../runtime/metrics';
import { offsiteSettings, tempDirectory, testStore } from '../support/offsite-fixture';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { createRealContext, migrateToLatest, type RealRestoreWorld } from '../support/restore-real';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../support/s3-server';

let server: S3Server;
const cleanups: (() => Promise<void>)[] = [];
let bucketCount = 0;

beforeAll(async () => {
  for (const [key, value] of Object.entries(s3rverCredentialsEnv())) vi.stubEnv(key, value);
  server = await startS3Server();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await server?.close();
  vi.unstubAllEnvs();
});

interface OffsiteWorld {
  world: RealRestoreWorld;
  database: TestDatabase;
  directory: string;
  metrics: ReturnType<typeof createMetricsRegistry>;
}

async function freshBucket(): Promise<string> {
  bucketCount += 1;
  const name = `flow-${process.pid}-${bucketCount}`;
  await server.createBucket(name);
  return name;
}

async function offsiteWorld(offsite: OffsiteSettings): Promise<OffsiteWorld> {
  const database = await createTestDatabase('offsite');
  const dir = await tempDirectory('offsite-flow-');
  const world = createRealContext({ url: database.url, directory: dir.path });
  cleanups.push(dir.remove, database.drop, world.close);
  await migrateToLatest(world);
  world.settings.offsite = offsite;
  const metrics = createMetricsRegistry();
  world.ctx.offsite = createOffsiteHooks({
    settings: () => world.settings,
    format: format1(() => world.ctx.executor()),
    metrics,
    clock: world.ctx.clock,
    logger: world.ctx.logger,
  });
  return { world, database, directory: dir.path, metrics };
}

const backup = (w: OffsiteWorld) =>
  createBackup({ trigger: 'manual', user: 'admin@example.com' }, w.world.ctx);

describe('off-site copies of every backup', () => {
  it('puts each backup in the store within the run that made it', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(server.endpoint, bucket));
    const { metadata } = await backup(w);
    const listing = await testStore(offsiteSettings(server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file)).toEqual([metadata.file]);
    expect(listing.backups[0]?.sizeBytes).toBe(metadata.sizeBytes);
    expect(w.metrics.renderPrometheus()).toMatch(/^bomnipotent_offsite_last_success_timestamp_seconds \d+/m);
    expect(w.metrics.renderPrometheus()).toContain('bomnipotent_offsite_failures_total 0');
  });

  it('keeps the local backup when the store is down, counts the failure, and catches up oldest first', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(server.endpoint, bucket));
    await server.stop();
    let first: string;
    try {
      first = (await backup(w)).metadata.file;
    } finally {
      await server.restart();
    }
    expect(await readdir(w.directory)).toContain(first);
    expect(w.metrics.renderPrometheus()).toContain('bomnipotent_offsite_failures_total 1');
    expect(w.world.logs.join('\n')).toMatch(
      /\[ERROR\] Off-site copy to s3:\/\/flow-[^ ]+ failed; the local backups are kept/,
    );

    const second = (await backup(w)).metadata.file;
    const copied = w.world.logs.filter((line) => line.includes('[INFO] Copied '));
    expect(copied.map((line) => line.split(' ')[2])).toEqual([first, second]);
    const listing = await testStore(offsiteSettings(server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file).sort()).toEqual([first, second].sort());
  });

  it('applies off-site retention after an upload, keeping the newest', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(server.endpoint, bucket, { keep: 2 }));
    const files: string[] = [];
    for (let i = 0; i < 3; i += 1) files.push((await backup(w)).metadata.file);
    const listing = await testStore(offsiteSettings(server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file).sort()).toEqual(files.slice(1).sort());
    expect((await readdir(w.directory)).filter((f) => f.endsWith('.dump'))).toHaveLength(3); // local keep is unset
  });
});

describe('list', () => {
  it('shows each backup as local, off-site or both, and the store alone with offsiteOnly', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(server.endpoint, bucket));
    const gone = (await backup(w)).metadata.file;
    const both = (await backup(w)).metadata.file;
    for (const name of [gone, `${gone}.meta.json`]) await rm(join(w.directory, name));
    await server.stop();
    let local: string;
    try {
      local = (await backup(w)).metadata.file;
      const down = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: false });
      expect(down.backups.map((b) => [b.file, b.location])).toEqual([
        [local, 'local'],
        [both, 'local'],
      ]);
      expect(down.offsite?.error).toContain(`s3://${bucket}/bomnipotent/`);
    } finally {
      await server.restart();
    }
    const listing = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: false });
    expect(listing.backups.map((b) => [b.file, b.location])).toEqual([
      [local, 'local'],
      [both, 'both'],
      [gone, 'offsite'],
    ]);
    const remote = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: true });
    expect(remote.backups.map((b) => b.file).sort()).toEqual([both, gone].sort());
  });
});

describe('a fresh server restores from the store alone', () => {
  it('restores the backup of server A into server B with an empty database and an empty directory', async () => {
    const bucket = await freshBucket();
    const a = await offsiteWorld(offsiteSettings(server.endpoint, bucket));
    await adminQuery(
      `CREATE TABLE recovery_probe (note text); INSERT INTO recovery_probe VALUES ('from A')`,
      [],
      a.database.name,
    );
    const { metadata } = await backup(a);

    const b = await offsiteWorld(offsiteSettings(server.endpoint, bucket));
    expect(await readdir(b.directory)).toEqual([]);
    const result = await restoreBackup({ user: 'admin@example.com', file: metadata.file }, b.world.ctx);
    expect(result.metadata.sha256).toBe(metadata.sha256);
    expect((await readdir(b.directory)).sort()).toEqual(
      expect.arrayContaining([metadata.file, `${metadata.file}.meta.json`]),
    );
    const rows = await adminQuery<{ note: string }>('SELECT note FROM recovery_probe', [], b.database.name);
    expect(rows.rows).toEqual([{ note: 'from A' }]);
    expect(b.world.logs.join('\n')).toContain(`Downloaded ${metadata.file} from s3://${bucket}/bomnipotent/`);
  });
});
