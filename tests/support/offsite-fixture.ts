// Builds off-site stores against the suite's s3rver and backup files to send there (random bytes plus a manifest
// signed like format 2's, so that the store holds what a server would put there).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import { MANIFEST_FORMAT } from '../../handlers/backup/manifest';
import { parseBackupFileName } from '../../handlers/backup/naming';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { createMetricsRegistry, type MetricsRegistry } from '../../runtime/observability/metrics';
import { format2, OFFSITE_NAMING } from '../../runtime/offsite/backup-format';
import { createOffsiteHooks } from '../../runtime/offsite/hooks';
import type { RealRestoreWorld } from './restore-real';
import { testSigner } from './backup-signer';
import * as ClientS3 from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3OffsiteStore, type S3StoreOptions } from '../../runtime/offsite/s3-store';

export const TEST_NAMING = OFFSITE_NAMING;

/** The key that signs the fixture's fake backups. */
export const FIXTURE_SIGNER = testSigner();

export function offsiteSettings(
  endpoint: string,
  bucket: string,
  overrides: Partial<OffsiteSettings> = {},
): OffsiteSettings {
  return {
    bucket,
    prefix: 'bomnipotent/',
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    checksum: 'when_supported',
    keep: null,
    lockDays: null,
    lockMode: 'GOVERNANCE',
    ...overrides,
  };
}

export function testStore(settings: OffsiteSettings, options: Partial<S3StoreOptions> = {}) {
  const sdk = { ...ClientS3, Upload };
  return createS3OffsiteStore({
    sdk,
    settings,
    naming: TEST_NAMING,
    minPartBytes: 5 * 1024 * 1024,
    directory: '/nonexistent', // listing only, unless a test binds the store to its directory
    ...options,
  });
}

export interface FakeBackup {
  file: string;
  manifestFile: string;
  sha256: string;
  bytes: Buffer;
}

export async function tempDirectory(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A data file of `sizeBytes` random bytes named like a plain backup, and its signed manifest next to it. */
export async function writeFakeBackup(
  directory: string,
  file: string,
  sizeBytes: number,
  signer: ManifestSigner = FIXTURE_SIGNER,
): Promise<FakeBackup> {
  const bytes = randomBytes(sizeBytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const manifestFile = TEST_NAMING.manifestFor(file);
  const parsed = parseBackupFileName(file);
  if (!parsed) throw new Error(`${file} is not a backup file name`);
  const manifest = await signer.sign({
    format: MANIFEST_FORMAT,
    file,
    sizeBytes,
    sha256,
    database: parsed.database,
    createdAt: parsed.takenAt.toISOString(),
    durationMs: 1,
    serverVersion: '15',
    pgDumpVersion: '15',
    schemaVersion: 1,
    appVersion: '0.1.0-test',
    compression: parsed.compression,
    encryption: null,
    restricted: true,
    sequence: 1,
    previousManifestSha256: null,
    trigger: 'manual',
    user: null,
  });
  await writeFile(join(directory, file), bytes);
  await writeFile(join(directory, manifestFile), manifest);
  return { file, manifestFile, sha256, bytes };
}

/** Wires the off-site hooks into a test world as runtime/deps.ts does (format 2, the world's keys); returns its metrics. */
export function attachOffsiteHooks(world: RealRestoreWorld): MetricsRegistry {
  const metrics = createMetricsRegistry({ processMetrics: false });
  world.ctx.offsite = createOffsiteHooks({
    format: format2({ now: () => world.ctx.clock.now() }),
    metrics,
    clock: world.ctx.clock,
    logger: world.ctx.logger,
  });
  return metrics;
}
