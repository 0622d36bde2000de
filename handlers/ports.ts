// The interfaces handlers need. Every side effect lives behind one of these; runtime/deps.ts builds the real ones.
import type { BackupManifest } from './backup/manifest';
import type { Compression } from './backup/naming';
import type { RehearsalRecord } from './backup/rehearsal-record';

export type { BackupManifest, Compression, RehearsalRecord };

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

/**
 * A backup as the API describes it. Format 1 wrote it as `<file>.meta.json` (unsigned); format 2 derives it from
 * the signed manifest (see describeManifest), with the format-2 facts as optional fields.
 */
export interface BackupMetadata {
  format: 'bomnipotent-backup/1' | 'bomnipotent-backup/2';
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
  compression?: Compression;
  encrypted?: boolean;
  sequence?: number;
}

/** What the handler knows before the dump; the executor adds file, checksum, size, duration and tool version. */
export type BackupMetadataSeed = Omit<
  BackupMetadata,
  'file' | 'sha256' | 'sizeBytes' | 'durationMs' | 'pgDumpVersion' | 'compression' | 'encrypted' | 'sequence'
>;

/**
 * How far a file in the backup directory is trusted: `trusted` (format 2, signed by a trusted key, matching its
 * data file), `untrusted` (a manifest that fails, or a data file whose manifest is missing or wrong), `legacy`
 * (format 1: `.dump` + unsigned `.meta.json`), `unsigned` (a plain dump with no description at all).
 * Only `trusted` entries are ever chosen as "latest", counted by retention or by freshness.
 */
export type TrustState = 'trusted' | 'untrusted' | 'legacy' | 'unsigned';

export interface CatalogEntry {
  file: string; // bare data file name
  path: string; // absolute path
  sizeBytes: number; // on disk now (0 when the data file is missing)
  state: TrustState;
  reason: string | null; // why not trusted; null when trusted
  manifest: BackupManifest | null; // set when the manifest verifies (trusted, or untrusted only for the data file)
  legacy: BackupMetadata | null; // format 1 metadata as found (unverified)
  /**
   * The signed rehearsal record next to a trusted backup: `trusted` with the record when it verifies and is about
   * these bytes, `untrusted` with the reason otherwise (counts as not rehearsed); absent when there is none.
   */
  rehearsal?: RehearsalState | undefined;
}

export type RehearsalState =
  { state: 'trusted'; record: RehearsalRecord } | { state: 'untrusted'; reason: string };

/** What the restore into a database reports: rows per table in the dump's COPY data (when counted). */
export interface RestoreReport {
  /** COPY target as the dump names it (e.g. `public.docs`) -> data lines; empty unless countRows was asked. */
  copyRows: Record<string, number>;
}

/** What a restore or verify may accept beyond signed backups. */
export interface TrustPolicy {
  /** ed25519:<base64> keys whose signatures count: this server's own and `trusted_keys`. */
  trustedKeys: string[];
}

/** Signs manifests with the backup-signing key; the key itself never leaves the server process. */
export interface ManifestSigner {
  readonly publicKey: string; // ed25519:<base64>
  /** The complete manifest file (JSON text) for this manifest (async: over the sidecar it is a round trip). */
  sign(manifest: BackupManifest): Promise<string>;
  /** The complete rehearsal record file (JSON text); absent where only manifests are signed (the sidecar). */
  signRehearsal?(record: RehearsalRecord): Promise<string>;
}

export interface DumpOptions {
  compression: Compression;
  /** age recipients (age1...); empty: not encrypted. */
  encryptionRecipients: string[];
}

export interface PruneResult {
  removed: string[];
  /** Trusted backups kept. */
  kept: number;
}

export type Verification = { ok: true; metadata: BackupMetadata } | { ok: false; reason: string };

/** Options of a full read: verify, verify_after_backup, and the read before a restore. */
export interface ReadOptions extends TrustPolicy {
  /** Accept a legacy or unsigned file (its bytes cannot be checked against anything signed). */
  allowUnsigned?: boolean;
  /** age identity file for encrypted backups. */
  identityFile?: string | undefined;
}

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
  /**
   * pg_dump, compressed (and encrypted) on the way into a temporary file, fsynced, renamed to its final name, then
   * the signed manifest (the commit marker). The name and the chain link (sequence, previous manifest) are chosen
   * here from the directory's manifests and `minSequence`. Returns the trusted entry; nothing is left on failure.
   */
  dump(request: {
    directory: string;
    seed: BackupMetadataSeed;
    options: DumpOptions;
    minSequence: number;
    signer: ManifestSigner;
    signal?: AbortSignal;
    /** Bytes written so far (in-process executors only). */
    onProgress?: (bytesWritten: number) => void;
  }): Promise<CatalogEntry>;
  /**
   * Every backup-like file in the directory with its trust state, from manifests and file sizes only (no dump is
   * read), in no particular order. Missing directory: [].
   */
  list(request: { directory: string; trust: TrustPolicy }): Promise<CatalogEntry[]>;
  /** Streams the file through hash, decryption, decompression and the dump structure check. */
  verify(directory: string, file: string, options: ReadOptions): Promise<Verification>;
  /**
   * Retention: removes trusted backups of `database` beyond the newest `keep` (by signed time; the newest always
   * stays). Untrusted, legacy and foreign files are never touched.
   */
  prune(request: {
    directory: string;
    database: string;
    keep: number;
    trust: TrustPolicy;
  }): Promise<PruneResult>;
  /** Removes a data file and its manifest or metadata (a new backup that failed verify_after_backup). */
  remove(directory: string, file: string): Promise<void>;
  freeBytes(directory: string): Promise<number>;
  /**
   * createdb targetDatabase (from template0, with `locale` when given), then psql -v ON_ERROR_STOP=1
   * --single-transaction fed from one descriptor of the file, hashed, decrypted, decompressed and checked on the way;
   * psql only sees the end of the input once the whole file verified. Drops targetDatabase on failure.
   */
  restore(request: {
    directory: string;
    file: string;
    targetDatabase: string;
    read: ReadOptions;
    serverMajor?: number;
    locale?: DatabaseLocale;
    signal?: AbortSignal;
    /** Bytes of the file fed to psql so far (in-process executors only). */
    onProgress?: (bytesFed: number) => void;
    /** Count the rows of each table's COPY data on the way into psql (a rehearsal compares them afterwards). */
    countRows?: boolean;
  }): Promise<RestoreReport>;
  appendAudit(directory: string, record: AuditRecord): Promise<void>;
  /** Writes `<file>.rehearsal.json` (already signed) next to a backup, atomically; refused when the backup is gone. */
  writeRehearsal(directory: string, file: string, recordFile: string): Promise<void>;
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
  /**
   * Free bytes on the PostgreSQL server's data directory, where that can be seen from here (the role may read
   * `data_directory` and the path is on this machine); null when it cannot.
   */
  dataDirectoryFreeBytes(): Promise<number | null>;
  /** ALTER DATABASE name ALLOW_CONNECTIONS true|false: the standby takes no connection while it waits. */
  setAllowConnections(name: string, allow: boolean): Promise<void>;
  /**
   * What identifies a database's content without connecting to it (its oid, size, and the transaction and row
   * counters PostgreSQL keeps for it), and whether it takes connections; null when it does not exist.
   */
  databaseState(
    name: string,
  ): Promise<{ fingerprint: string; sizeBytes: number; allowConnections: boolean } | null>;
  /**
   * Connects to `name` (a freshly restored copy): VACUUM (FREEZE, ANALYZE) so that nothing changes it afterwards,
   * then the row count of each table given (as the dump names it: schema.table, quoted where needed), the number
   * of tables in it, and this product's schema version inside.
   */
  inspectRestored(
    name: string,
    tables: string[],
  ): Promise<{ rowCounts: Record<string, number>; tables: number; schemaVersion: number }>;
  /** Ends other connections to `from`, then ALTER DATABASE from RENAME TO to. */
  renameDatabase(from: string, to: string): Promise<void>;
  /**
   * Makes PostgreSQL itself refuse writes to database `name` for every session of every replica: sets the database's
   * default_transaction_read_only and ends the sessions begun before (they keep the old default); they reconnect
   * read-only. The setting travels with the database through a rename.
   */
  refuseWrites(name: string): Promise<void>;
  /** Resets that setting and ends the sessions begun while it held, so that they reconnect able to write. */
  allowWrites(name: string): Promise<void>;
  /** Whether database `name` carries the read-only setting (e.g. left by a restore that was killed). */
  refusesWrites(name: string): Promise<boolean>;
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
  /**
   * Before the swap, while reads are still answered: copies the live database's seen signatures into the restored
   * copy, so that the carry-over inside the swap (when nothing is answered) only adds the few seen since.
   */
  carrySignaturesAhead(restoredDatabase: string): Promise<number>;
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

/** The newest backup sequence this server signed, kept in its database (it survives a wiped directory). */
export interface BackupChainStore {
  newestSequence(database: string): Promise<number>; // 0 when none was recorded
  /** Records `sequence` unless a higher one is recorded already. */
  record(database: string, sequence: number): Promise<void>;
}

export interface BackupMetrics {
  backupSucceeded(metadata: BackupMetadata): void;
  backupFailed(trigger: BackupTrigger): void;
  restoreSucceeded(): void;
  restoreFailed(): void;
  rehearsalSucceeded?(at: Date): void;
  rehearsalFailed?(): void;
}

/** Background rehearsals of new backups, one at a time in this process; a burst of backups rehearses only the newest. */
export interface RehearsalQueue {
  enqueue(file: string): void;
  /** Resolves once no rehearsal of this queue runs (tests, shutdown). */
  idle(): Promise<void>;
}
