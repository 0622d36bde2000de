// With executor = "sidecar" the backups live in the sidecar's volume, so the sidecar process uploads and downloads
// them (with its own AWS credential chain); the server only lists and prunes the store.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createBackup } from '../../handlers/backup/create-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { createSidecarExecutor } from '../../runtime/executor/sidecar-client';
import { attachOffsiteHooks, offsiteSettings, tempDirectory, testStore } from '../support/offsite-fixture';
import { adminQuery, createTestDatabase } from '../support/pg';
import { createRealContext, migrateToLatest } from '../support/restore-real';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from '../support/s3-server';
import { startSidecarProcess } from '../support/sidecar-process';

let server: S3Server;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  for (const [key, value] of Object.entries(s3rverCredentialsEnv())) vi.stubEnv(key, value);
  server = await startS3Server();
  await server.createBucket('sidecar-flow');
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await server?.close();
  vi.unstubAllEnvs();
});

async function sidecarWorld() {
  const database = await createTestDatabase('offsite_sc');
  const dir = await tempDirectory('offsite-sidecar-');
  cleanups.push(dir.remove, database.drop);
  const sidecar = await startSidecarProcess({
    dbUrl: database.url,
    directory: dir.path,
    env: s3rverCredentialsEnv(),
  });
  cleanups.push(() => sidecar.stop());
  const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
  const world = createRealContext({ url: database.url, directory: dir.path, executor });
  cleanups.push(world.close);
  await migrateToLatest(world);
  world.settings.executor = { kind: 'sidecar', url: sidecar.url, token: sidecar.token };
  world.settings.offsite = offsiteSettings(server.endpoint, 'sidecar-flow');
  attachOffsiteHooks(world);
  return { world, database, directory: dir.path };
}

it('uploads from the sidecar, and a fresh sidecar downloads the backup for a restore', async () => {
  const a = await sidecarWorld();
  await adminQuery(
    `CREATE TABLE recovery_probe (note text); INSERT INTO recovery_probe VALUES ('via sidecar')`,
    [],
    a.database.name,
  );
  const { metadata } = await createBackup({ trigger: 'scheduled', user: null }, a.world.ctx);
  const listing = await testStore(offsiteSettings(server.endpoint, 'sidecar-flow')).list();
  expect(a.world.logs.filter((l) => l.includes('ERROR'))).toEqual([]);
  expect(listing.backups.map((b) => b.file)).toContain(metadata.file);

  const b = await sidecarWorld();
  await restoreBackup({ user: 'admin@example.com', file: metadata.file }, b.world.ctx);
  expect(await readdir(b.directory)).toContain(metadata.file);
  const rows = await adminQuery<{ note: string }>('SELECT note FROM recovery_probe', [], b.database.name);
  expect(rows.rows).toEqual([{ note: 'via sidecar' }]);
});
