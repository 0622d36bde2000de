// A real backup world copying off-site into the suite's s3rver: a test database, a temporary backup directory, the
// real executor and the off-site hooks, each removed by the suite's cleanups.
import type { OffsiteSettings } from '../../handlers/offsite/model';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import type { MetricsRegistry } from '../../runtime/observability/metrics';
import { createBackup } from '../../handlers/backup/create-backup';
import { attachOffsiteHooks, tempDirectory } from './offsite-fixture';
import { createTestDatabase, type TestDatabase } from './pg';
import { createRealContext, migrateToLatest, TEST_SIGNER, type RealRestoreWorld } from './restore-real';
import { afterAll, beforeAll, vi } from 'vitest';
import { s3rverCredentialsEnv, startS3Server, type S3Server } from './s3-server';

export interface OffsiteWorld {
  world: RealRestoreWorld;
  database: TestDatabase;
  directory: string;
  metrics: MetricsRegistry;
}

export type Cleanups = (() => Promise<void>)[];

let bucketCount = 0;

/** A new bucket in `server`, named uniquely for this process. */
export async function freshBucket(server: S3Server, prefix = 'flow'): Promise<string> {
  bucketCount += 1;
  const name = `${prefix}-${process.pid}-${bucketCount}`;
  await server.createBucket(name);
  return name;
}

export async function offsiteWorld(
  cleanups: Cleanups,
  offsite: OffsiteSettings,
  keys: { signer?: ManifestSigner; trustedKeys?: string[]; database?: TestDatabase } = {},
): Promise<OffsiteWorld> {
  const database = keys.database ?? (await createTestDatabase('offsite'));
  const dir = await tempDirectory('offsite-flow-');
  const world = createRealContext({ url: database.url, directory: dir.path });
  cleanups.push(dir.remove, database.drop, world.close);
  await migrateToLatest(world);
  world.settings.offsite = offsite;
  world.settings.compression = 'zstd';
  world.settings.trustedKeys = keys.trustedKeys ?? [];
  const signer = keys.signer ?? TEST_SIGNER;
  world.signer = signer;
  const metrics = attachOffsiteHooks(world);
  return { world, database, directory: dir.path, metrics };
}

export const backupOf = (w: OffsiteWorld) =>
  createBackup({ trigger: 'manual', user: 'admin@example.com' }, w.world.ctx);

/**
 * One s3rver for the suite, the AWS chain pointed at its credentials; after the suite the cleanups run (newest
 * first) and the server stops. `suite.server` is set once the suite's beforeAll ran.
 */
export function s3Suite(): { server: S3Server; cleanups: Cleanups } {
  const suite = { server: undefined as unknown as S3Server, cleanups: [] as Cleanups };
  beforeAll(async () => {
    for (const [key, value] of Object.entries(s3rverCredentialsEnv())) vi.stubEnv(key, value);
    suite.server = await startS3Server();
  });
  afterAll(async () => {
    for (const cleanup of suite.cleanups.reverse()) await cleanup().catch(() => {});
    await (suite.server as S3Server | undefined)?.close();
    vi.unstubAllEnvs();
  });
  return suite;
}
