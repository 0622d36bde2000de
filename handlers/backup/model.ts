// The backup use cases' data: backups as the API and the catalog describe them, trust, audits, tool reports.
import type { BackupManifest } from './manifest';
import type { Compression } from './naming';
import type { RehearsalRecord } from './rehearsal-record';

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
  /** The key (`ed25519:...`) whose signature made it trusted; absent otherwise. */
  signedBy?: string | undefined;
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
  /** Roles named by grants in the dump that this server does not have: those grants were skipped. */
  missingRoles?: string[];
}

/** What a restore or verify may accept beyond signed backups. */
export interface TrustPolicy {
  /** ed25519:<base64> keys whose signatures count: this server's own and `trusted_keys`. */
  trustedKeys: string[];
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

export type Verification =
  { ok: true; metadata: BackupMetadata; load?: LoadCheck } | { ok: false; reason: string };

/** How a restore would load the dump here (a dry run reads it so): as which role, and the grants it would skip. */
export interface LoadCheck {
  /** The role the dump's SQL would run as. */
  role: string;
  /** That role is a superuser: always false (kept for older clients; a restore never loads as a superuser). */
  superuser: boolean;
  /** The database's owner is a superuser: a temporary role loads and then gives everything to this owner. */
  handOverTo?: string;
  /** Roles named by grants in the dump that this server lacks (those grants would be skipped). */
  missingRoles: string[];
}

/** Options of a full read: verify, verify_after_backup, and the read before a restore. */
export interface ReadOptions extends TrustPolicy {
  /** Accept a legacy or unsigned file (its bytes cannot be checked against anything signed). */
  allowUnsigned?: boolean;
  /** age identity file for encrypted backups. */
  identityFile?: string | undefined;
  /** Also read the dump as a restore would load it here (the role, the grants to missing roles, refused lines). */
  checkLoad?: boolean;
}

export interface ToolReport {
  pgDumpPath: string | null;
  pgDumpVersion: string | null;
  psqlPath: string | null;
  createdbPath: string | null;
  dropdbPath: string | null;
  /** The compression and encryption tools (undefined from an executor that does not look for them). */
  zstdPath?: string | null;
  agePath?: string | null;
  /** Problems found, each a sentence that says what to do. Empty when all is well. */
  problems: string[];
  /** The problems among them that stop every backup (a missing tool, a pg_dump older than the server). */
  blockers?: string[];
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

/** What a plain dump does not carry: the database's own encoding and locale, given to createdb on a restore. */
export interface DatabaseLocale {
  encoding: string; // e.g. "UTF8"
  collate: string; // LC_COLLATE, e.g. "C.UTF-8"
  ctype: string; // LC_CTYPE
  provider: 'libc' | 'icu';
  icuLocale: string | null; // with provider icu
}
