// The PostgreSQL tools and the backup directory as the runtime drives them: in-process (local.ts) or over the sidecar
// (runtime/sidecar/client.ts). The use cases never see it: runtime/backups/backup-store.ts binds it to one directory,
// trust policy and signer as the BackupStore port.
import type { AuditSeal, AuditWritten } from './audit-log';
import type {
  AuditRecord,
  BackupMetadataSeed,
  CatalogEntry,
  DatabaseLocale,
  DumpOptions,
  PruneResult,
  ReadOptions,
  RestoreReport,
  ToolReport,
  TrustPolicy,
  Verification,
} from '../../handlers/backup/model';
import type { ManifestSigner } from '../../handlers/ports/manifest-signer';

/**
 * Runs the PostgreSQL tools and owns the backup directory. The same interface is served in-process
 * (runtime/executor/local.ts) and by the sidecar (runtime/sidecar/client.ts).
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
  /**
   * Appends a line linked to the one before it; `seal` signs it (absent: the line is linked, not signed); `written` is told each line once it is on disk (in-process
   * only: the sidecar's lines are not read here).
   */
  appendAudit(
    directory: string,
    record: AuditRecord,
    seal?: AuditSeal,
    written?: AuditWritten,
  ): Promise<void>;
  /** The audit log's text ('' when none); absent over the sidecar. */
  readAudit?(directory: string): Promise<string>;
  /** Writes `<file>.rehearsal.json` (already signed) next to a backup, atomically; refused when the backup is gone. */
  writeRehearsal(directory: string, file: string, recordFile: string): Promise<void>;
}
