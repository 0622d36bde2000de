// In-memory fakes of the backup ports for handler unit tests (the real ones are tested in tests/integration/).
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import type { BackupDeps } from '../../handlers/backup/deps';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import type {
  AuditRecord,
  BackupMetadata,
  BackupTrigger,
  CatalogEntry,
  PruneResult,
  Verification,
} from '../../handlers/backup/model';
import type { BackupChainStore } from '../../handlers/ports/backup-chain';
import type { BackupManifest } from '../../handlers/backup/manifest';
import type { DatabaseAdmin, LockLease } from '../../handlers/ports/database-admin';
import type { Executor } from '../../runtime/executor/executor';
import { backupFileName, dataFileSuffix, parseBackupFileName } from '../../handlers/backup/naming';
import { retentionCandidates, selectForDeletion } from '../../handlers/backup/retention';
import { testSigner } from '../support/backup-signer';
import { testTaskSource } from '../support/backup-task';
import { manifestFor } from '../support/restore-fakes';
import { systemClock } from '../../runtime/observability/system-clock';
import { testBackupSettings } from '../support/backup-settings';
import { idleLifecycle, recordingLogger } from '../support/recording-logger';

export interface FakeFile {
  metadata: BackupMetadata | null;
  sizeBytes: number;
  broken?: string; // the signed backup fails (listed untrusted, verification fails) with this reason
}

function manifestOf(file: string, metadata: BackupMetadata, sequence: number): BackupManifest {
  return { ...manifestFor(file, metadata), sequence };
}

export class FakeExecutor implements Executor {
  files = new Map<string, FakeFile>();
  audits: AuditRecord[] = [];
  dumps: string[] = [];
  removed: string[] = [];
  free = 10 * 1024 ** 3;
  dumpError: Error | null = null;
  auditError: Error | null = null;
  /** Makes verification of files dumped from now on fail (a disk that corrupts writes). */
  corruptNewDumps: string | null = null;
  onDump: (() => Promise<void>) | null = null;
  private sequence = 0;
  private readonly sequences = new Map<string, number>();

  constructor(readonly directory = '/backups') {}

  async probe() {
    return {
      pgDumpPath: null,
      pgDumpVersion: null,
      psqlPath: null,
      createdbPath: null,
      dropdbPath: null,
      problems: [],
    };
  }
  async dump(request: Parameters<Executor['dump']>[0]): Promise<CatalogEntry> {
    const file = backupFileName(
      request.seed.database,
      new Date(request.seed.startedAt),
      this.files.keys(),
      dataFileSuffix(request.options.compression, request.options.encryptionRecipients.length > 0),
    );
    this.dumps.push(file);
    if (this.onDump) await this.onDump();
    if (this.dumpError) throw this.dumpError;
    const metadata: BackupMetadata = {
      ...request.seed,
      file,
      sha256: 'ab'.repeat(32),
      sizeBytes: 2048,
      durationMs: 1500,
      pgDumpVersion: '15.20',
    };
    this.sequence = Math.max(this.sequence + 1, request.minSequence);
    this.sequences.set(file, this.sequence);
    this.files.set(file, {
      metadata,
      sizeBytes: 2048,
      ...(this.corruptNewDumps ? { broken: this.corruptNewDumps } : {}),
    });
    return this.entryOf(file);
  }
  entryOf(file: string): CatalogEntry {
    const f = this.files.get(file)!;
    const base = { file, path: `${this.directory}/${file}`, sizeBytes: f.sizeBytes, legacy: null };
    if (!f.metadata) return { ...base, state: 'unsigned', reason: 'no signed manifest', manifest: null };
    const manifest = manifestOf(file, f.metadata, this.sequences.get(file) ?? 1);
    if (f.broken) return { ...base, state: 'untrusted', reason: f.broken, manifest };
    return { ...base, state: 'trusted', reason: null, manifest };
  }
  async list(): Promise<CatalogEntry[]> {
    return [...this.files.keys()].map((file) => this.entryOf(file));
  }
  async verify(_directory: string, file: string): Promise<Verification> {
    const f = this.files.get(file);
    if (!f) return { ok: false, reason: 'the file is missing' };
    if (f.broken) return { ok: false, reason: f.broken };
    if (!f.metadata) return { ok: false, reason: 'the metadata file is missing' };
    return { ok: true, metadata: f.metadata };
  }
  async prune(request: Parameters<Executor['prune']>[0]): Promise<PruneResult> {
    const candidates = retentionCandidates(await this.list(), request.database);
    const removed = selectForDeletion(candidates, request.keep);
    for (const file of removed) await this.remove(this.directory, file);
    return { removed, kept: candidates.length - removed.length };
  }
  async remove(_directory: string, file: string): Promise<void> {
    this.removed.push(file);
    this.files.delete(file);
  }
  async freeBytes(): Promise<number> {
    return this.free;
  }
  async restore(): Promise<never> {
    throw new Error('not used by these tests');
  }
  async writeRehearsal(): Promise<never> {
    throw new Error('not used by these tests');
  }
  async appendAudit(_directory: string, record: AuditRecord): Promise<void> {
    if (this.auditError) throw this.auditError;
    this.audits.push(record);
  }

  /** A finished backup as an earlier run would have left it. */
  addBackup(
    file: string,
    options: { broken?: string; trigger?: BackupTrigger; metadata?: boolean; sequence?: number } = {},
  ): void {
    const metadata: BackupMetadata | null =
      options.metadata === false
        ? null
        : {
            format: 'bomnipotent-backup/2',
            file,
            sha256: 'cd'.repeat(32),
            sizeBytes: 1000,
            database: parseBackupFileName(file)?.database ?? 'bomnipotent_db',
            serverVersion: '15.20',
            pgDumpVersion: '15.20',
            schemaVersion: 2,
            appVersion: '0.1.0',
            startedAt: '2026-01-01T00:00:00.000Z',
            durationMs: 1000,
            trigger: options.trigger ?? 'scheduled',
            user: null,
          };
    this.sequence += 1;
    this.sequences.set(file, options.sequence ?? this.sequence);
    this.files.set(file, {
      metadata,
      sizeBytes: 1000,
      ...(options.broken ? { broken: options.broken } : {}),
    });
  }
}

export class FakeChain implements BackupChainStore {
  recorded = new Map<string, number>();
  async newestSequence(database: string) {
    return this.recorded.get(database) ?? 0;
  }
  async record(database: string, sequence: number) {
    this.recorded.set(database, Math.max(sequence, this.recorded.get(database) ?? 0));
  }
}

export class FakeAdmin implements DatabaseAdmin {
  readonly databaseName = 'bomnipotent_db';
  sizeBytes = 50 * 1024 * 1024;
  lockHeld = false;
  async serverVersion() {
    return '15.20';
  }
  async databaseSizeBytes() {
    return this.sizeBytes;
  }
  async schemaVersion() {
    return 2;
  }
  async canCreateDatabases() {
    return true;
  }
  async liveRowCounts() {
    return {};
  }
  async databaseLocale() {
    return {
      encoding: 'UTF8',
      collate: 'C.UTF-8',
      ctype: 'C.UTF-8',
      provider: 'libc' as const,
      icuLocale: null,
    };
  }
  async databaseExists() {
    return true;
  }
  async listDatabases() {
    return [];
  }
  async dropDatabase() {}
  async renameDatabase() {}
  async setAllowConnections() {}
  async dataDirectoryFreeBytes() {
    return null;
  }
  async databaseState() {
    return null;
  }
  async inspectRestored(): Promise<never> {
    throw new Error('not used by these tests');
  }
  /** Set to false to play a lock whose session died during the operation. */
  lockStillHeld = true;
  async refuseWrites() {}
  async allowWrites() {}
  async refusesWrites() {
    return false;
  }
  async swapObstacles() {
    return { missingPrivileges: [] as string[], blockingSessions: null };
  }
  async tryWithLock<T>(_name: string, fn: (lease: LockLease) => Promise<T>) {
    if (this.lockHeld) return { acquired: false as const };
    this.lockHeld = true;
    try {
      return { acquired: true as const, value: await fn({ held: async () => this.lockStillHeld }) };
    } finally {
      this.lockHeld = false;
    }
  }
}

export class FakeMetrics {
  succeeded: BackupMetadata[] = [];
  failed: BackupTrigger[] = [];
  restores = { succeeded: 0, failed: 0 };
  backupSucceeded(metadata: BackupMetadata) {
    this.succeeded.push(metadata);
  }
  backupFailed(trigger: BackupTrigger) {
    this.failed.push(trigger);
  }
  restoreSucceeded() {
    this.restores.succeeded += 1;
  }
  restoreFailed() {
    this.restores.failed += 1;
  }
}

export { recordingLogger };

export function defaultSettings(overrides: Partial<BackupTaskSettings> = {}): BackupTaskSettings {
  return testBackupSettings(overrides);
}

export interface FakeWorld {
  ctx: BackupDeps;
  executor: FakeExecutor;
  chain: FakeChain;
  admin: FakeAdmin;
  metrics: FakeMetrics;
  logger: ReturnType<typeof recordingLogger>;
  setNow(date: Date): void;
}

/** null: the database_backup task is not configured. */
export function fakeWorld(taskSettings: BackupTaskSettings | null = defaultSettings()): FakeWorld {
  const settings = taskSettings ?? undefined;
  const executor = new FakeExecutor(settings?.directory);
  const admin = new FakeAdmin();
  const metrics = new FakeMetrics();
  const logger = recordingLogger();
  const chain = new FakeChain();
  const signer = testSigner();
  let now = new Date('2026-01-11T10:30:24Z');
  const ctx: BackupDeps = {
    task: testTaskSource({ settings: () => settings, executor: () => executor, signer: () => signer }),
    chain,
    admin,
    lifecycle: idleLifecycle(2),
    maintenance: createMaintenanceMode(),
    metrics,
    clock: systemClock(() => now),
    logger,
    appVersion: '0.1.0',
  };
  return { ctx, executor, chain, admin, metrics, logger, setNow: (d) => (now = d) };
}
