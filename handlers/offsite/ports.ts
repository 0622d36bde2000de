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
  directory: string; // where the files are (the process running the store reads them)
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

export type OffsiteDownload = { file: string; manifestFile: string; directory: string; sha256: string };

/** The transfers that read or write the backup directory: they run where the files are (server or sidecar). */
export interface OffsiteTransfer {
  offsiteUpload(settings: OffsiteSettings, request: OffsiteUpload): Promise<OffsiteUploadResult>;
  offsiteDownload(settings: OffsiteSettings, request: OffsiteDownload): Promise<void>;
}

export interface OffsiteStore {
  /** `s3://bucket/prefix` for messages; never carries a credential. */
  readonly location: string;
  list(): Promise<OffsiteListing>;
  upload(request: OffsiteUpload): Promise<OffsiteUploadResult>;
  readManifest(manifestFile: string): Promise<Uint8Array>;
  /** Streams the data object into the directory under a temporary name, checks sha256, then renames; writes the manifest. */
  download(request: { file: string; manifestFile: string; directory: string; sha256: string }): Promise<void>;
  /** Removes the manifest first (so a half-removed backup is never counted), then the data; a locked object is skipped. */
  remove(backup: { file: string; manifestFile: string }): Promise<OffsiteRemoval>;
}
