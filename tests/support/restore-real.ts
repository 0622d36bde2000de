// A real BackupDeps over a real database (pool, admin, and the local executor or one given, e.g. a sidecar's client):
// for restore tests and the child process.
import { createHash, createPrivateKey } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupDeps } from '../../handlers/backup/deps';
import { describeManifest } from '../../handlers/backup/describe-manifest';
import { manifestFileName } from '../../handlers/backup/naming';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { BackupManifest } from '../../handlers/backup/manifest';
import type { BackupMetadata } from '../../handlers/backup/model';
import type { Executor } from '../../runtime/executor/executor';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';
import { createDatabaseAdmin, type DatabaseAdminHandle } from '../../runtime/db/admin';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { createAuditAnchorStore } from '../../runtime/db/audit-anchor';
import { createDatabaseLifecycle } from '../../runtime/db/lifecycle';
import { migrate } from '../../runtime/db/migrate';
import { LATEST_SCHEMA_VERSION } from '../../runtime/db/migrations/index';
import { createLocalExecutor } from '../../runtime/executor/local';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { signerFor } from '../../runtime/backups/signing-key';
import type { PitrBinding } from '../../runtime/backups/backup-store';
import { trustOf } from './backup-signer';
import { testTaskSource } from './backup-task';
import { systemClock } from '../../runtime/observability/system-clock';
import { testBackupSettings } from './backup-settings';
import { recordingLogger } from './recording-logger';

/**
 * The backup-signing key of every real restore world: fixed (from a constant seed), so that a restore run in a child
 * process (tests/support/restore-child.ts) trusts the backups its parent test made.
 */
const TEST_SIGNING_KEY = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, 7)]),
  format: 'der',
  type: 'pkcs8',
});
export const TEST_SIGNER = signerFor(TEST_SIGNING_KEY);
/** The same key as a PKCS#8 PEM file's text, for a server process (`signing_key`). */
export const TEST_SIGNING_KEY_PEM = TEST_SIGNING_KEY.export({ format: 'pem', type: 'pkcs8' }).toString();
/** The trust policy that accepts exactly the backups of TEST_SIGNER. */
export const TEST_TRUST = trustOf(TEST_SIGNER);

export interface RealRestoreWorld {
  ctx: BackupDeps;
  /** The executor the task is bound to (the in-process one over the database, or one given). */
  executor: Executor;
  /** The backup-signing key the task is bound to. */
  signer: ManifestSigner;
  db: DbHandle;
  admin: DatabaseAdminHandle;
  settings: BackupTaskSettings;
  /** Set by a test of point-in-time recovery (with continuous in settings). */
  pitr?: PitrBinding;
  logs: string[];
  close(): Promise<void>;
}

export function createRealContext(options: {
  url: string;
  directory: string;
  keepOldDatabase?: boolean;
  /** The executor to back up and restore with (default: the in-process one over `url`). */
  executor?: Executor;
  /** Anchor the audit log's head in the database, as the server does (off: the database holds no anchor row). */
  anchorAudit?: boolean;
}): RealRestoreWorld {
  const logger = recordingLogger({ upTo: 'info' });
  const logs = logger.lines;
  const db = createDbHandle(options.url, { max: 4 });
  const admin = createDatabaseAdmin({ url: options.url, logger });
  const executor = options.executor ?? createLocalExecutor({ dbUrl: options.url, logger });
  const settings: BackupTaskSettings = testBackupSettings({
    directory: options.directory,
    scheduled: false,
    keepOldDatabase: options.keepOldDatabase ?? false,
    signingKey: { path: '/unused/backup-signing-key.pem', generate: false },
    // Plain files, so that tests can rewrite the SQL of a backup (and re-sign it) to make it fail inside psql.
  });
  const chain = new Map<string, number>();
  const ctx: BackupDeps = {
    task: testTaskSource({
      settings: () => world.settings,
      executor: () => world.executor,
      signer: () => world.signer,
      pitr: () => world.pitr,
      ...(options.anchorAudit ? { anchor: createAuditAnchorStore(db) } : {}),
    }),
    chain: {
      newestSequence: async (database) => chain.get(database) ?? 0,
      record: async (database, sequence) =>
        void chain.set(database, Math.max(sequence, chain.get(database) ?? 0)),
    },
    admin,
    lifecycle: createDatabaseLifecycle({ db, logger }),
    maintenance: createMaintenanceMode(),
    metrics: {
      backupSucceeded: () => {},
      backupFailed: () => {},
      restoreSucceeded: () => {},
      restoreFailed: () => {},
    },
    clock: systemClock(() => new Date()),
    logger,
    appVersion: '0.1.0-test',
  };
  const world: RealRestoreWorld = {
    ctx,
    executor,
    signer: TEST_SIGNER,
    db,
    admin,
    settings,
    logs,
    close: async () => {
      await db.close().catch(() => {});
      await admin.close().catch(() => {});
    },
  };
  return world;
}

/** Brings the database to this build's schema, as the server does at start, so a restore's migrate step is a no-op. */
export async function migrateToLatest(world: RealRestoreWorld): Promise<void> {
  await migrate(world.db.pool(), world.ctx.logger);
}

/** A real backup through the real executor, named for `takenAt`. */
export async function makeBackup(world: RealRestoreWorld, takenAt = new Date()): Promise<BackupMetadata> {
  const database = world.admin.databaseName;
  const executor = world.executor;
  const entry = await executor.dump({
    directory: world.settings.directory,
    options: { compression: world.settings.compression, encryptionRecipients: [] },
    minSequence: 1,
    signer: TEST_SIGNER,
    seed: {
      format: 'bomnipotent-backup/2',
      database,
      serverVersion: await world.admin.serverVersion(),
      schemaVersion: LATEST_SCHEMA_VERSION,
      appVersion: '0.1.0-test',
      startedAt: takenAt.toISOString(),
      trigger: 'manual',
      user: 'tester@example.com',
    },
  });
  return describeManifest(entry.manifest!);
}

/**
 * Rewrites a dump's SQL and then its manifest (size and checksum, re-signed) so that it still passes verification:
 * the way to make a backup that verifies but fails, or stalls, inside psql.
 */
export async function rewriteBackup(
  directory: string,
  file: string,
  edit: (sql: string) => string,
  signer: ManifestSigner = TEST_SIGNER,
): Promise<void> {
  const path = join(directory, file);
  const sql = edit(await readFile(path, 'utf8'));
  await writeFile(path, sql);
  const bytes = Buffer.from(sql, 'utf8');
  await resignManifest(
    directory,
    file,
    (manifest) => ({
      ...manifest,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    }),
    signer,
  );
}

/** Changes a backup's manifest and signs it again with a trusted key: a backup the server trusts, as edited. */
export async function resignManifest(
  directory: string,
  file: string,
  edit: (manifest: BackupManifest) => BackupManifest,
  signer: ManifestSigner = TEST_SIGNER,
): Promise<void> {
  const manifestPath = join(directory, manifestFileName(file));
  const { manifest } = JSON.parse(await readFile(manifestPath, 'utf8')) as { manifest: BackupManifest };
  await writeFile(manifestPath, await signer.sign(edit(manifest)));
}

/** Inserts SQL just before the dump's completion marker, i.e. after all data was loaded. */
export function beforeCompletionMarker(sql: string, inserted: string): string {
  const marker = sql.lastIndexOf('--\n-- PostgreSQL database dump complete');
  if (marker < 0) throw new Error('not a complete dump');
  return `${sql.slice(0, marker)}${inserted}\n${sql.slice(marker)}`;
}

/** Removes the signed manifest: the data file stays, but it is no longer a backup. */
export async function removeMetadata(directory: string, file: string): Promise<void> {
  await rm(join(directory, manifestFileName(file)));
}
