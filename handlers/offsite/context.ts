// What the off-site use cases need: the store for the current settings, the local catalog and the manifest check.
// The backup format decides the last two (runtime/offsite/format.ts), so that these use cases do not.
import type { BackupTaskSettings } from '../backup/settings';
import type { Clock } from '../ports/clock';
import type { Logger } from '../ports/logger';
import type { LocalBackup, ManifestCheck, OffsiteCatalog, OffsiteFetch, OffsiteMemory } from './model';
import type { OffsiteStore } from '../ports/offsite-store';

export interface OffsiteFormat {
  /** Local backups that count (trusted), in any order. */
  listLocal(directory: string): Promise<LocalBackup[]>;
  /** Checks a manifest read from the store against the name it was found under. */
  checkManifest(bytes: Uint8Array, file: string): ManifestCheck;
}

export interface OffsiteMetrics {
  offsiteSucceeded(at: Date): void;
  offsiteFailed(): void;
  /** The signed creation time of the newest trusted backup in the store, each time the store was read. */
  offsiteNewest(at: Date | null): void;
}

export interface OffsiteContext {
  settings(): BackupTaskSettings | undefined;
  /** The store for the current settings (hot reload), or undefined when `offsite` is not set. */
  store(): OffsiteStore | undefined;
  format: OffsiteFormat;
  metrics: OffsiteMetrics;
  clock: Clock;
  logger: Logger;
  memory: OffsiteMemory;
}

/** The hooks the backup use cases call; each never throws for a store problem (the local backup stands). */
export interface OffsiteHooks {
  /** After a verified local backup: upload what is not off-site yet, oldest first, then off-site retention. */
  copy(): Promise<void>;
  /**
   * Before a restore: bring the backup to restore into the directory when only the store has it. A dry run
   * downloads nothing and answers what would be downloaded; null when the directory's backup is the one.
   */
  fetchForRestore(request: {
    database: string;
    file?: string | undefined;
    dryRun?: boolean | undefined;
  }): Promise<OffsiteFetch | null>;
  /** The store's backups for `list`; null when `offsite` is not set. Throws when the store cannot be read. */
  catalog(): Promise<{ location: string; catalog: OffsiteCatalog } | null>;
  /** s3://bucket/prefix of the current settings, or null. */
  location(): string | null;
}
