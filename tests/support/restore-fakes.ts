// In-memory fakes of the ports a restore uses: databases are names holding a content string, every call is recorded.
import type { BackupDeps } from '../../handlers/backup/deps';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type { AuditRecord, BackupMetadata, CatalogEntry, Verification } from '../../handlers/backup/model';
import type { BackupManifest } from '../../handlers/backup/manifest';
import type { DatabaseAdmin } from '../../handlers/ports/database-admin';
import type { DatabaseLifecycle } from '../../handlers/ports/database-lifecycle';
import type { Executor } from '../../runtime/executor/executor';
import type { MaintenancePhase } from '../../handlers/ports/maintenance';
import { parseBackupFileName } from '../../handlers/backup/naming';
import { testSigner } from './backup-signer';
import { testTaskSource } from './backup-task';
import { systemClock } from '../../runtime/observability/system-clock';
import { testBackupSettings } from './backup-settings';
import { recordingLogger } from './recording-logger';

export const DIR = '/backups';

/** The signed manifest a fake backup stands for: its time from the name, as a real one must have. */
export function manifestFor(file: string, metadata: BackupMetadata): BackupManifest {
  const parsed = parseBackupFileName(file);
  return {
    format: 'bomnipotent-backup/2',
    file,
    sizeBytes: metadata.sizeBytes,
    sha256: metadata.sha256,
    database: parsed?.database ?? metadata.database,
    createdAt: (parsed?.takenAt ?? new Date(metadata.startedAt)).toISOString(),
    durationMs: metadata.durationMs,
    serverVersion: metadata.serverVersion,
    pgDumpVersion: metadata.pgDumpVersion,
    schemaVersion: metadata.schemaVersion,
    appVersion: metadata.appVersion,
    compression: parsed?.compression ?? 'none',
    encryption: null,
    restricted: true,
    sequence: 1,
    previousManifestSha256: null,
    trigger: metadata.trigger,
    user: metadata.user,
  };
}

export function metadataFor(file: string, overrides: Partial<BackupMetadata> = {}): BackupMetadata {
  return {
    format: 'bomnipotent-backup/1',
    file,
    sha256: 'a'.repeat(64),
    sizeBytes: 100,
    database: 'app',
    serverVersion: '15.20',
    pgDumpVersion: '15.20',
    schemaVersion: 1,
    appVersion: '0.1.0',
    startedAt: '2026-01-11T10:30:24.000Z',
    durationMs: 10,
    trigger: 'manual',
    user: 'admin@example.com',
    ...overrides,
  };
}

export interface FakeWorld {
  ctx: BackupDeps;
  /** Database name -> content. */
  databases: Map<string, string>;
  /** Databases that refuse writes (default_transaction_read_only); the mark moves with a rename, as in PostgreSQL. */
  readOnly: Set<string>;
  /** Backup file -> content it restores to; verification result per file (default ok). */
  files: Map<string, { content: string; verification?: Verification }>;
  events: string[];
  audits: AuditRecord[];
  logs: string[];
  phases: MaintenancePhase[];
  lockHeld: { value: boolean };
  /** Set to false to play a lock whose session died during the restore. */
  lockStillHeld: { value: boolean };
  fail: Partial<Record<'restore' | 'renameAside' | 'renameIn' | 'migrate' | 'renameBack', Error>>;
  settings: BackupTaskSettings;
  metrics: { succeeded: number; failed: number };
}

export function createFakeWorld(
  options: { database?: string; content?: string; knownSchemaVersion?: number } = {},
): FakeWorld {
  const db = options.database ?? 'app';
  const databases = new Map<string, string>([[db, options.content ?? 'old']]);
  const readOnly = new Set<string>();
  const files = new Map<string, { content: string; verification?: Verification }>();
  const events: string[] = [];
  const audits: AuditRecord[] = [];
  const logs: string[] = [];
  const phases: MaintenancePhase[] = [];
  const lockHeld = { value: false };
  const lockStillHeld = { value: true };
  const fail: FakeWorld['fail'] = {};
  const metrics = { succeeded: 0, failed: 0 };
  const settings: BackupTaskSettings = testBackupSettings({ directory: DIR });

  // A file whose verification fails is a signed backup that no longer matches (listed untrusted, with the reason).
  const entryOf = (file: string): CatalogEntry => {
    const verification = files.get(file)?.verification;
    const metadata = verification?.ok ? verification.metadata : metadataFor(file);
    const base = {
      file,
      path: `${DIR}/${file}`,
      sizeBytes: 100,
      legacy: null,
      manifest: manifestFor(file, metadata),
    };
    return verification && !verification.ok
      ? { ...base, state: 'untrusted', reason: verification.reason }
      : { ...base, state: 'trusted', reason: null };
  };
  const executor: Executor = {
    probe: () => Promise.reject(new Error('not used')),
    dump: () => Promise.reject(new Error('not used')),
    list: async () => [...files.keys()].map(entryOf),
    verify: async (_dir, file) => files.get(file)?.verification ?? { ok: true, metadata: metadataFor(file) },
    prune: () => Promise.reject(new Error('not used')),
    remove: () => Promise.reject(new Error('not used')),
    freeBytes: async () => 1e12,
    restore: async ({ file, targetDatabase }) => {
      events.push(`restore ${file} -> ${targetDatabase}`);
      if (databases.has(targetDatabase)) throw new Error(`database ${targetDatabase} exists`);
      if (fail.restore) throw fail.restore;
      databases.set(targetDatabase, files.get(file)!.content);
      return { copyRows: {} };
    },
    appendAudit: async (_dir, record) => {
      audits.push(record);
    },
    writeRehearsal: () => Promise.reject(new Error('not used')),
  };

  let renames = 0;
  const admin: DatabaseAdmin = {
    databaseName: db,
    serverVersion: async () => '15.20',
    databaseSizeBytes: async () => 1000,
    schemaVersion: async () => 1,
    canCreateDatabases: async () => true,
    swapObstacles: async () => ({ missingPrivileges: [], blockingSessions: null }),
    liveRowCounts: async () => ({}),
    databaseLocale: async () => ({
      encoding: 'UTF8',
      collate: 'C.UTF-8',
      ctype: 'C.UTF-8',
      provider: 'libc' as const,
      icuLocale: null,
    }),
    databaseExists: async (name) => databases.has(name),
    listDatabases: async (prefix) => [...databases.keys()].filter((n) => n.startsWith(prefix)),
    dropDatabase: async (name) => {
      events.push(`drop ${name}`);
      databases.delete(name);
      readOnly.delete(name);
    },
    refuseWrites: async (name) => {
      if (!databases.has(name)) throw new Error(`database ${name} does not exist`);
      readOnly.add(name);
    },
    allowWrites: async (name) => {
      readOnly.delete(name);
    },
    refusesWrites: async (name) => readOnly.has(name),
    setAllowConnections: async () => {},
    dataDirectoryFreeBytes: async () => null,
    databaseState: async () => null,
    inspectRestored: () => Promise.reject(new Error('not used')),
    renameDatabase: async (from, to) => {
      renames += 1;
      events.push(`rename ${from} -> ${to}`);
      if (renames === 1 && fail.renameAside) throw fail.renameAside;
      if (renames === 2 && fail.renameIn) throw fail.renameIn;
      if (renames >= 3 && fail.renameBack) throw fail.renameBack;
      const content = databases.get(from);
      if (content === undefined) throw new Error(`database ${from} does not exist`);
      if (databases.has(to)) throw new Error(`database ${to} exists`);
      databases.delete(from);
      databases.set(to, content);
      if (readOnly.delete(from)) readOnly.add(to);
    },
    tryWithLock: async (_name, fn) => {
      if (lockHeld.value) return { acquired: false };
      lockHeld.value = true;
      try {
        return { acquired: true, value: await fn({ held: async () => lockStillHeld.value }) };
      } finally {
        lockHeld.value = false;
      }
    },
  };

  const lifecycle: DatabaseLifecycle = {
    drainPool: async () => {
      events.push('drain');
    },
    reopenPool: async () => {
      events.push('reopen');
    },
    migrate: async () => {
      events.push('migrate');
      if (fail.migrate) throw fail.migrate;
      return 1;
    },
    knownSchemaVersion: options.knownSchemaVersion ?? 2,
    carryOverFrom: async (previous) => {
      events.push(`carry-over from ${previous}`);
      return 0;
    },
    carrySignaturesAhead: async () => 0,
    adminsThroughRestore: async () => ({ before: ['admin@example.com'], after: ['admin@example.com'] }),
  };

  const logger = recordingLogger({ upTo: 'info', lines: logs });

  const signer = testSigner();
  let phase: { phase: MaintenancePhase; reason: string } = { phase: 'normal', reason: '' };
  const ctx: BackupDeps = {
    task: testTaskSource({ settings: () => settings, executor: () => executor, signer: () => signer }),
    chain: { newestSequence: async () => 0, record: async () => {} },
    admin,
    lifecycle,
    maintenance: {
      set: (p, reason) => {
        phases.push(p);
        events.push(`maintenance ${p}`);
        phase = { phase: p, reason };
      },
      get: () => phase,
      writeStarted: () => () => {},
      writesSettled: async () => {
        events.push('writes settled');
        return true;
      },
    },
    metrics: {
      backupSucceeded: () => {},
      backupFailed: () => {},
      restoreSucceeded: () => void (metrics.succeeded += 1),
      restoreFailed: () => void (metrics.failed += 1),
    },
    clock: systemClock(() => new Date('2026-02-03T04:05:06Z')),
    logger,
    appVersion: '0.1.0',
  };
  return {
    ctx,
    databases,
    readOnly,
    files,
    events,
    audits,
    logs,
    phases,
    lockHeld,
    lockStillHeld,
    fail,
    settings,
    metrics,
  };
}
