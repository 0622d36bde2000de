// The off-site use cases' data: local backups that may go out, the store's trusted backups, what a restore fetches.
import type { BackupManifest } from '../backup/manifest';
import type { OffsiteBackup } from './ports';

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
