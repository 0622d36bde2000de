// The backup directory as the use cases see it: bound once (runtime/backups/backup-store.ts) to one directory, the
// trust policy (this server's key and trusted_keys) and the backup-signing key, over the executor that owns the files
// (in-process or the sidecar). No use case passes a directory or a trust policy, or builds a path.
import type { AuditChainReport } from '../backup/audit-chain';
import type {
  AuditRecord,
  BackupMetadataSeed,
  CatalogEntry,
  DatabaseLocale,
  DumpOptions,
  PruneResult,
  RestoreReport,
  ToolReport,
  TrustPolicy,
  Verification,
} from '../backup/model';
import type { BackupTaskSettings } from '../backup/settings';
import type { RehearsalRecord } from '../backup/rehearsal-record';
import type { HeldWal } from '../pitr/summary';
import type { PitrCatalog, PitrPlan } from '../pitr/window';
import type { PitrCountMark, PitrRehearsalRecord, TrustedPitrRehearsal } from '../pitr/rehearsal-record';

export interface BackupStore {
  /** The directory as configured, for messages. */
  readonly directory: string;
  /** The absolute path of a file in the directory, as the server shows it. */
  pathOf(file: string): string;
  /** The keys whose signatures count now: this server's own (when it can be read) and `trusted_keys`. */
  trustPolicy(): TrustPolicy;
  /** The public key backups are signed with; throws BACKUP.SIGNING_KEY_UNUSABLE when the key cannot be used. */
  signingKey(): string;
  /** Where the PostgreSQL tools are and what is wrong with them, for a server of this major. */
  probeTools(serverMajor: number): Promise<ToolReport>;
  /**
   * Every backup-like file in the directory with its trust state, from manifests and file sizes only (no dump is
   * read), in no particular order. Missing directory: [].
   */
  list(): Promise<CatalogEntry[]>;
  /**
   * pg_dump, compressed (and encrypted) into a temporary file, fsynced, renamed, then the manifest signed with this
   * server's key (the commit marker). Returns the trusted entry; nothing is left on failure.
   */
  dump(request: {
    seed: BackupMetadataSeed;
    options: DumpOptions;
    minSequence: number;
    signal?: AbortSignal;
    onProgress?: (bytesWritten: number) => void;
  }): Promise<CatalogEntry>;
  /** The full read of one file (hash, decryption, decompression, dump structure) under the trust policy. */
  verify(file: string, options?: VerifyOptions): Promise<Verification>;
  /** Retention: trusted backups of `database` beyond the newest `keep` are removed (the newest always stays). */
  prune(request: { database: string; keep: number }): Promise<PruneResult>;
  /** Removes a data file and its manifest or metadata (a new backup that failed verify_after_backup). */
  remove(file: string): Promise<void>;
  freeBytes(): Promise<number>;
  /**
   * createdb targetDatabase, then psql fed from one descriptor of the file, checked on the way (see Executor.restore);
   * a file that is not trusted is read only with allowUnsigned.
   */
  restore(request: {
    file: string;
    targetDatabase: string;
    allowUnsigned?: boolean;
    serverMajor?: number;
    locale?: DatabaseLocale;
    signal?: AbortSignal;
    onProgress?: (bytesFed: number) => void;
    countRows?: boolean;
  }): Promise<RestoreReport>;
  appendAudit(record: AuditRecord): Promise<void>;
  /** The audit log's signed chain as read now; absent where the log cannot be read here (the sidecar). */
  auditChain?(): Promise<AuditChainReport>;
  /** Signs the record with this server's key and writes it next to its backup; refused when the backup is gone. */
  writeRehearsal(file: string, record: RehearsalRecord): Promise<void>;
  /** Continuous protection's base backups and WAL segments, judged from their signed manifests; absent when off. */
  pitr?: () => Promise<PitrCatalog>;
  /** The off-site store's continuous protection beside the local folder's (continuous and offsite set). */
  pitrOffsite?: () => Promise<PitrOffsiteCatalog>;
  /** The WAL the replication slot holds back on the database server, as the running capture last read it. */
  pitrHeldWal?: () => HeldWal | null;
  /**
   * Recovers the plan's base backup and WAL into a private temporary PostgreSQL instance, stopped at `target`, and
   * copies the application database's content from it into `targetDatabase` (created here, dropped on failure).
   * Every file is checked against its signed manifest before the instance starts. Absent when continuous is off.
   */
  recoverToPoint?: (request: {
    plan: PitrPlan;
    /** Files of the plan that are only in the off-site store: downloaded (and checked) first, removed afterwards. */
    fetch?: ReadonlySet<string>;
    target: string;
    /** Stop just before this WAL position instead of at `target` (a PITR rehearsal's exact point). */
    targetLsn?: string;
    targetDatabase: string;
    locale: DatabaseLocale;
    serverMajor: number;
  }) => Promise<void>;
  /**
   * Refuses (PITR.SERVER_PROGRAMS_MISSING) when the server programs recoverToPoint runs for this major are not
   * installed: checked before a restore to a point starts, and by its dry run. Present where recoverToPoint is.
   */
  checkRecoverPrograms?: (serverMajor: number) => Promise<void>;
  /** What a PITR rehearsal needs besides recoverToPoint; absent where recoverToPoint is. */
  pitrRehearsal?: PitrRehearsalStore;
}

export interface PitrRehearsalStore {
  /** The live database's row counts at one exact WAL position, read in one snapshot (nothing is written to it). */
  countMark(): Promise<PitrCountMark>;
  /** Signs the record with this server's key and writes it (replacing the last one), atomically. */
  write(record: PitrRehearsalRecord): Promise<void>;
  /** The last record under the trust policy; null when there is none. */
  read(): Promise<TrustedPitrRehearsal | null>;
}

/** The restorable window of the local PITR folder and the off-site store together. */
export interface PitrOffsiteCatalog {
  /** `s3://bucket/prefix/pitr/` for messages. */
  location: string;
  catalog: PitrCatalog;
  /** Files (`base/...`, `wal/...`) whose data is only in the store. */
  remote: ReadonlySet<string>;
}

export interface VerifyOptions {
  /** Read a legacy or unsigned file too (its bytes cannot be checked against anything signed). */
  allowUnsigned?: boolean;
  /** Only this server's own key counts (a backup it has just made). */
  ownKeyOnly?: boolean;
  /** Also read the dump as a restore would load it here (a dry run): the role, grants to missing roles. */
  checkLoad?: boolean;
}

/** One operation's view of the database_backup task: the settings as they were when it began, and the store bound to them. */
export interface BackupTask {
  readonly settings: BackupTaskSettings;
  readonly store: BackupStore;
}

/** The task as configured now (hot reload); each operation takes one snapshot at its start and keeps it. */
export interface BackupTaskSource {
  /** undefined: the database_backup task is not configured. */
  snapshot(): BackupTask | undefined;
}
