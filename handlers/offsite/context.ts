// What the off-site use cases need: the store of a task's settings, the local catalog and the manifest check.
// The backup format decides the last two (runtime/offsite/backup-format.ts), so that these use cases do not.
import type { TrustPolicy } from '../backup/model';
import type { BackupStore, BackupTask } from '../ports/backup-store';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { Notifier } from '../ports/notifier';
import type {
  CopyReport,
  LocalBackup,
  ManifestCheck,
  OffsiteCatalog,
  OffsiteFetch,
  OffsiteFetchRequest,
  OffsiteMemory,
} from './model';
import type { OffsiteStore } from '../ports/offsite-store';

export interface OffsiteFormat {
  /** The local backups of a store that count (trusted), in any order. */
  listLocal(store: BackupStore): Promise<LocalBackup[]>;
  /** Checks a manifest read from the store against the name it was found under, with the task's trust policy. */
  checkManifest(bytes: Uint8Array, file: string, trust: TrustPolicy): ManifestCheck;
}

export interface OffsiteMetrics {
  offsiteSucceeded(at: Date): void;
  offsiteFailed(): void;
  /** The signed creation time of the newest trusted backup in the store, each time the store was read. */
  offsiteNewest(at: Date | null): void;
}

export interface OffsiteContext {
  /** The store of this task's settings, bound to its directory, or undefined when `offsite` is not set. */
  storeFor(task: BackupTask): OffsiteStore | undefined;
  format: OffsiteFormat;
  metrics: OffsiteMetrics;
  clock: Clock;
  logger: Logger;
  memory: OffsiteMemory;
  /** Told of failed copies and stale stores (absent in tests that do not need it). */
  notifier?: Notifier;
}

/** The hooks the backup use cases call with their task's snapshot; each never throws for a store problem. */
export interface OffsiteHooks {
  /** After a verified local backup: upload what is not off-site yet, oldest first, then off-site retention. */
  copy(task: BackupTask): Promise<CopyReport | null>;
  /**
   * Before a restore: bring the backup to restore into the directory when only the store has it. A dry run
   * downloads nothing and answers what would be downloaded; null when the directory's backup is the one.
   */
  fetchForRestore(task: BackupTask, request: OffsiteFetchRequest): Promise<OffsiteFetch | null>;
  /** The store's backups for `list`; null when `offsite` is not set. Throws when the store cannot be read. */
  catalog(task: BackupTask): Promise<{ location: string; catalog: OffsiteCatalog } | null>;
  /** s3://bucket/prefix of the task's settings, or null. */
  location(task: BackupTask): string | null;
}
