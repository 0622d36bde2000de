// The off-site use cases' data: local backups that may go out, the store's trusted backups, what a restore fetches.
import type { BackupManifest } from '../backup/manifest';

/** A local backup that may go off-site: its manifest was read and its data file's checksum is known from it. */
export interface LocalBackup {
  file: string;
  manifestFile: string;
  sha256: string;
  database: string;
  createdAt: Date;
}

export type ManifestCheck =
  | { ok: true; file: string; sha256: string; database: string; createdAt: Date; manifest: BackupManifest }
  | { ok: false; reason: string };

export interface TrustedOffsiteBackup extends OffsiteBackup {
  sha256: string;
  database: string;
  createdAt: Date;
  manifest: BackupManifest;
}

export interface OffsiteCatalog {
  trusted: TrustedOffsiteBackup[]; // newest first
  untrusted: { file: string; reason: string }[];
  incomplete: string[];
  foreign: string[];
}

/** What a restore asks of the store: the named file, or the newest of the database (as the admin expects it). */
export interface OffsiteFetchRequest {
  database: string;
  file?: string | undefined;
  dryRun?: boolean | undefined;
  /** `--expect-newest`: the file name or signed sequence "the latest" must have. */
  expectNewest?: string | undefined;
}

/** The backup a restore takes from the store: downloaded already, or (dry run) what would be downloaded. */
export interface OffsiteFetch {
  file: string;
  location: string; // s3://bucket/prefix
  bucket: string;
  key: string; // the data object's key
  directory: string; // where the download goes (or would go)
  downloaded: boolean;
  manifest: BackupManifest; // the trusted manifest read from the store
}

/**
 * What this process last confirmed in each store (by location): the newest trusted backup's signed time, or null
 * when the store held none. A run whose store fails judges the staleness by it.
 */
export type OffsiteMemory = Map<string, Date | null>;

// The off-site store port: S3-compatible object storage holding copies of the backups (runtime/offsite/ builds it).
// Objects are written once under `<prefix><file>` and `<prefix><manifest>`; the manifest is written last and is the
// commit marker, so a data object without a confirmed manifest is never a backup.

export type OffsiteChecksumMode = 'when_supported' | 'when_required';

export type OffsiteLockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface OffsiteSettings {
  bucket: string;
  prefix: string; // '' or ends with '/'; never contains '..', '.', or empty segments
  endpoint: string | null; // MinIO, Ceph, R2 ...; null means AWS
  region: string | null; // null: from the AWS chain (AWS_REGION, shared config), else us-east-1
  forcePathStyle: boolean;
  checksum: OffsiteChecksumMode;
  keep: number | null; // newest N trusted off-site backups kept; null keeps everything
  lockDays: number | null; // S3 Object Lock retention set on every object written
  lockMode: OffsiteLockMode;
}

/** A backup in the store: its data object and its confirmed manifest object. */
export interface OffsiteBackup {
  file: string; // bare name of the data file
  manifestFile: string;
  sizeBytes: number; // of the data object
  lastModified: string; // ISO 8601, of the manifest (when the copy was committed)
}

export interface OffsiteListing {
  backups: OffsiteBackup[];
  /** Data objects of ours without a manifest: an upload that was cut off (retried on the next run). */
  incomplete: string[];
  /** Keys under the prefix that are not ours: never read, never deleted, shown so that the admin knows. */
  foreign: string[];
}

export interface OffsiteUpload {
  file: string;
  manifestFile: string;
  sha256: string; // hex of the data file, from its manifest: the upload refuses a file that does not match
  signal?: AbortSignal;
}

export interface OffsiteUploadResult {
  file: string;
  sizeBytes: number;
  partSizeBytes: number;
  parts: number;
  replacedIncomplete: boolean; // a data object of an earlier, cut-off upload (never a backup) was replaced
}

export type OffsiteRemoval = 'removed' | 'locked' | 'not-ours';

export type OffsiteDownload = { file: string; manifestFile: string; sha256: string };

/** What one off-site copy run did: the files uploaded, the failure (with its suggestion) if any, the copies removed. */
export interface CopyReport {
  uploaded: string[];
  failure: string | null;
  removed: string[];
  /** The signed time of the newest trusted backup in the store as this run last read it; null: none; undefined: not read. */
  newestConfirmed?: Date | null;
}
