// With executor = "sidecar" the backups live in the sidecar's volume, so the sidecar process uploads and downloads
// them (with its own AWS credential chain); the server only lists and prunes the store. The sidecar copies only to
// the store of its own settings: a request naming another one is refused, and so is any with no store configured.
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createBackup } from '../../handlers/backup/create-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { createSidecarExecutor } from '../../runtime/sidecar/client';
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
  await server.createBucket('elsewhere');
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await server?.close();
  vi.unstubAllEnvs();
});

/** The sidecar's own store: the same as the server's config names in the flow below. */
function sidecarStoreEnv(): Record<string, string> {
  return {
    BOMNIPOTENT_EXECUTOR_OFFSITE: 's3://sidecar-flow/bomnipotent/',
    BOMNIPOTENT_EXECUTOR_S3_ENDPOINT: server.endpoint,
    BOMNIPOTENT_EXECUTOR_S3_REGION: 'us-east-1',
    BOMNIPOTENT_EXECUTOR_S3_FORCE_PATH_STYLE: 'true',
  };
}

async function sidecarWorld(storeEnv: Record<string, string> = sidecarStoreEnv()) {
  const database = await createTestDatabase('offsite_sc');
  const dir = await tempDirectory('offsite-sidecar-');
  cleanups.push(dir.remove, database.drop);
  const sidecar = await startSidecarProcess({
    dbUrl: database.url,
    directory: dir.path,
    env: { ...s3rverCredentialsEnv(), ...storeEnv },
  });
  cleanups.push(() => sidecar.stop());
  const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
  const world = createRealContext({ url: database.url, directory: dir.path, executor });
  cleanups.push(world.close);
  await migrateToLatest(world);
  world.settings.executor = { kind: 'sidecar', url: sidecar.url, token: sidecar.token };
  world.settings.offsite = offsiteSettings(server.endpoint, 'sidecar-flow');
  const metrics = attachOffsiteHooks(world);
  return { world, database, directory: dir.path, sidecar, metrics };
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

it('refuses to copy to a store other than its own, and writes nothing there', async () => {
  const a = await sidecarWorld();
  expect(a.sidecar.output()).toContain(
    `Executor sidecar copies off-site only to s3://sidecar-flow/bomnipotent/ at ${server.endpoint}.`,
  );
  // Whoever holds the token (here: a server whose config names another bucket) cannot redirect the backups.
  a.world.settings.offsite = offsiteSettings(server.endpoint, 'elsewhere');
  const { metadata } = await createBackup({ trigger: 'manual', user: null }, a.world.ctx);
  expect(await readdir(a.directory)).toContain(metadata.file); // the local backup stands
  expect(a.world.logs.join('\n')).toContain(
    `The executor sidecar copies only to its own store s3://sidecar-flow/bomnipotent/ at ${server.endpoint}; it refuses a transfer to s3://elsewhere/bomnipotent/ at ${server.endpoint}.`,
  );
  expect(await a.metrics.renderPrometheus()).toContain('bomnipotent_offsite_failures_total 1');
  expect((await testStore(offsiteSettings(server.endpoint, 'elsewhere')).list()).backups).toEqual([]);
  expect(a.sidecar.output()).toContain(
    '[WARN] Refused an off-site transfer: The executor sidecar copies only to',
  );

  // Another endpoint with the same bucket and prefix is another store too: refused before anything runs (403).
  const client = createSidecarExecutor({ url: a.sidecar.url, token: a.sidecar.token });
  await expect(
    client.offsiteUpload(offsiteSettings('http://127.0.0.1:9', 'sidecar-flow'), {
      directory: a.directory,
      file: metadata.file,
      manifestFile: `${metadata.file}.manifest.json`,
      sha256: metadata.sha256,
    }),
  ).rejects.toMatchObject({
    code: 'EXECUTOR.OFFSITE_STORE_MISMATCH',
    message: expect.stringContaining(
      'it refuses a transfer to s3://sidecar-flow/bomnipotent/ at http://127.0.0.1:9',
    ),
  });
});

it('refuses every off-site transfer when started without a store', async () => {
  const a = await sidecarWorld({});
  expect(a.sidecar.output()).toContain('Executor sidecar has no off-site store');
  const { metadata } = await createBackup({ trigger: 'manual', user: null }, a.world.ctx);
  expect(await readdir(a.directory)).toContain(metadata.file);
  expect(a.world.logs.join('\n')).toContain(
    'The executor sidecar has no off-site store configured, so it refuses to copy to s3://sidecar-flow/bomnipotent/',
  );
  expect(
    (await testStore(offsiteSettings(server.endpoint, 'sidecar-flow')).list()).backups.map((b) => b.file),
  ).not.toContain(metadata.file);
});
