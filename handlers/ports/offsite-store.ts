// The off-site store: S3-compatible object storage holding copies of the backups (runtime/offsite/ builds it).
// Objects are written once under `<prefix><file>` and `<prefix><manifest>`; the manifest is written last and is the
// commit marker, so a data object without a confirmed manifest is never a backup.
import type {
  OffsiteDownload,
  OffsiteListing,
  OffsiteRemoval,
  OffsiteUpload,
  OffsiteUploadResult,
} from '../offsite/model';

/** The store of one task's settings, bound to its backup directory (uploads read from it, downloads write into it). */
export interface OffsiteStore {
  /** `s3://bucket/prefix` for messages; never carries a credential. */
  readonly location: string;
  list(): Promise<OffsiteListing>;
  upload(request: OffsiteUpload): Promise<OffsiteUploadResult>;
  readManifest(manifestFile: string): Promise<Uint8Array>;
  /** Streams the data object into the directory under a temporary name, checks sha256, then renames; writes the manifest. */
  download(request: OffsiteDownload): Promise<void>;
  /** Removes the manifest first (so a half-removed backup is never counted), then the data; a locked object is skipped. */
  remove(backup: { file: string; manifestFile: string }): Promise<OffsiteRemoval>;
}
