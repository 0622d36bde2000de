// The interfaces handlers need. Every side effect lives behind one of these; runtime/deps.ts builds the real ones.

export interface Clock {
  now(): Date;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
}

// ---------------------------------------------------------------- backups

export type BackupTrigger = 'scheduled' | 'manual';

/** Written next to every dump as `<file>.meta.json`; a restore trusts nothing that does not match it. */
export interface BackupMetadata {
  format: 'bomnipotent-backup/1';
  file: string; // bare file name of the dump
  sha256: string; // hex digest of the dump file
  sizeBytes: number;
  database: string;
  serverVersion: string; // PostgreSQL server version, e.g. "15.20"
  pgDumpVersion: string; // e.g. "15.20"
  schemaVersion: number; // this product's schema version inside the dump
  appVersion: string;
  startedAt: string; // ISO 8601, UTC
  durationMs: number;
  trigger: BackupTrigger;
  user: string | null; // who asked (null for scheduled runs)
}

/** What the handler knows before the dump; the executor adds file, checksum, size, duration and tool version. */
export type BackupMetadataSeed = Omit<
  BackupMetadata,
  'file' | 'sha256' | 'sizeBytes' | 'durationMs' | 'pgDumpVersion'
>;

export interface BackupEntry {
  file: string; // bare name, matches <database>_<YYYYMMDD_HHMMSS>[_N].dump
  path: string; // absolute path
  sizeBytes: number;
  metadata: BackupMetadata | null; // null when the metadata file is missing or unreadable
}

export type Verification = { ok: true; metadata: BackupMetadata } | { ok: false; reason: string };

export interface ToolReport {
  pgDumpPath: string | null;
  pgDumpVersion: string | null;
  psqlPath: string | null;
  createdbPath: string | null;
  dropdbPath: string | null;
  /** Problems found, each a sentence that says what to do. Empty when all is well. */
  problems: string[];
}

export interface AuditRecord {
  at: string; // ISO 8601
  action: 'backup' | 'restore' | 'restore-dry-run';
  /** 'started': written right before a restore's swap, so that a killed server still leaves who and when. */
  outcome: 'started' | 'succeeded' | 'failed' | 'refused';
  user: string | null;
  trigger: BackupTrigger;
  file: string | null;
  message: string;
}

/**
 * Runs the PostgreSQL tools and owns the backup directory. The same interface is served in-process
 * (runtime/executor/local.ts) and by the sidecar (runtime/executor/sidecar-client.ts).
 * Failures are AppErrors with codes under EXECUTOR.* (see runtime/executor/errors.ts).
 */
export interface Executor {
  probe(serverMajor: number): Promise<ToolReport>;
  /** pg_dump into a temporary file, fsync, completeness check, checksum, metadata, then rename. Nothing is left on failure. */
  dump(request: {
    directory: string;
    file: string;
    seed: BackupMetadataSeed;
    signal?: AbortSignal;
    /** Bytes written so far (in-process executors only). */
    onProgress?: (bytesWritten: number) => void;
  }): Promise<BackupMetadata>;
  /** Every file of ours in the directory (dumps matching the naming pattern), in no particular order. Missing directory: []. */
  list(directory: string): Promise<BackupEntry[]>;
  /** Checksum against metadata, completeness of the dump, metadata present and consistent. */
  verify(directory: string, file: string): Promise<Verification>;
  /** Removes a dump and its metadata (retention). Refuses names that are not ours. */
  remove(directory: string, file: string): Promise<void>;
  freeBytes(directory: string): Promise<number>;
  /**
   * createdb targetDatabase (from template0, with `locale` when given), then psql -v ON_ERROR_STOP=1
   * --single-transaction -f file; drops targetDatabase on failure. `serverMajor` picks the tools of that major.
   */
  restore(request: {
    directory: string;
    file: string;
    targetDatabase: string;
    serverMajor?: number;
    locale?: DatabaseLocale;
    signal?: AbortSignal;
    /** Bytes of the file fed to psql so far (in-process executors only). */
    onProgress?: (bytesFed: number) => void;
  }): Promise<void>;
  appendAudit(directory: string, record: AuditRecord): Promise<void>;
}

/** What a plain dump does not carry: the database's own encoding and locale, given to createdb on a restore. */
export interface DatabaseLocale {
  encoding: string; // e.g. "UTF8"
  collate: string; // LC_COLLATE, e.g. "C.UTF-8"
  ctype: string; // LC_CTYPE
  provider: 'libc' | 'icu';
  icuLocale: string | null; // with provider icu
}

/** SQL-level administration of the server's own database, done from the maintenance database `postgres`. */
export interface DatabaseAdmin {
  readonly databaseName: string;
  serverVersion(): Promise<string>; // "15.20"
  databaseSizeBytes(): Promise<number>;
  schemaVersion(): Promise<number>;
  canCreateDatabases(): Promise<boolean>;
  /**
   * What would make the swap of a restore fail, checked before the restore starts: missing privileges on the
   * server's database (ownership, CREATEDB), each a sentence, and the sessions the role may not end (or null).
   */
  swapObstacles(): Promise<{ missingPrivileges: string[]; blockingSessions: string | null }>;
  databaseLocale(): Promise<DatabaseLocale>;
  databaseExists(name: string): Promise<boolean>;
  listDatabases(prefix: string): Promise<string[]>;
  dropDatabase(name: string): Promise<void>; // WITH (FORCE), IF EXISTS
  /** Ends other connections to `from`, then ALTER DATABASE from RENAME TO to. */
  renameDatabase(from: string, to: string): Promise<void>;
  /** Runs fn while holding a cluster-wide advisory lock (held from the maintenance database); null when someone else holds it. */
  tryWithLock<T>(
    name: string,
    fn: (lease: LockLease) => Promise<T>,
  ): Promise<{ acquired: true; value: T } | { acquired: false }>;
}

/** The lock as its holder sees it: the session holding it can die (a killed backend, a network cut) mid-operation. */
export interface LockLease {
  /** True while the lock's session is alive and still holds it; asked before each irreversible step. */
  held(): Promise<boolean>;
}

/** The server's connection pool and schema, as seen by the restore swap. */
export interface DatabaseLifecycle {
  drainPool(): Promise<void>;
  reopenPool(): Promise<void>;
  /** Applies pending migrations to the (possibly just restored) database; returns the resulting schema version. */
  migrate(): Promise<number>;
  readonly knownSchemaVersion: number; // the newest schema version this build knows
  /**
   * Copies what must outlive a restore from the replaced database into the restored one: the signatures seen
   * within the replay window, so that a request captured before the restore cannot be replayed after it.
   */
  carryOverFrom(previousDatabase: string): Promise<number>;
}

export type MaintenancePhase = 'normal' | 'read-only' | 'unavailable';

/** Read by the HTTP layer: read-only answers writes 503, unavailable answers everything but /health 503. */
export interface MaintenanceMode {
  set(phase: MaintenancePhase, reason: string): void;
  get(): { phase: MaintenancePhase; reason: string };
  /** The HTTP layer counts write requests while they run (start returns the function that ends the count). */
  writeStarted(): () => void;
  /**
   * Resolves true once no write request that passed the gate before read-only is still running (its changes
   * would reach the old database and be lost in the swap); false when some still run after timeoutMs.
   */
  writesSettled(timeoutMs: number): Promise<boolean>;
}

export interface BackupMetrics {
  backupSucceeded(metadata: BackupMetadata): void;
  backupFailed(trigger: BackupTrigger): void;
  restoreSucceeded(): void;
  restoreFailed(): void;
}
