// The database_backup task's settings as handlers see them (parsed and validated by runtime/config).
import type { OffsiteSettings } from '../offsite/model';

export type ExecutorSettings = { kind: 'local' } | { kind: 'sidecar'; url: string; token: string };

export interface BackupTaskSettings {
  directory: string; // absolute
  periodMs: number;
  scheduled: boolean;
  keep: number | null; // newest N verified backups kept; null keeps everything
  keepOldDatabase: boolean; // after a restore, keep the replaced database as <db>_pre_restore_<ts>
  /** Restore every new backup into the standby database `<db>_standby` in the background (absent: false). */
  rehearse?: boolean;
  verifyAfterBackup: boolean; // re-read the file and check it against its metadata before reporting success
  executor: ExecutorSettings;
  /** The PKCS#8 PEM file of the backup-signing key; `generate` when it was not configured (created on first start). */
  signingKey: { path: string; generate: boolean };
  /** Public keys (ed25519:<base64>) whose backups are trusted besides this server's own. */
  trustedKeys: string[];
  compression: 'zstd' | 'gzip' | 'none';
  /** age recipients (age1...); empty: backups are not encrypted. */
  encryptionRecipients: string[];
  /** The age identity file a restore of an encrypted backup reads. */
  encryptionIdentityFile: string | undefined;
  offsite?: OffsiteSettings | undefined; // copies in S3-compatible object storage; absent: none
  /** An outside monitor's push URL (healthchecks.io, Uptime Kuma) called at each run's start, success and failure. */
  heartbeatUrl?: string | null;
  /** Continuous protection (continuous = true): WAL streamed for point-in-time recovery; absent: off. */
  continuous?: ContinuousSettings | undefined;
}

export interface ContinuousSettings {
  slot: string; // the physical replication slot pg_receivewal streams through
  baseBackupPeriodMs: number; // a new base backup (pg_basebackup) this long after the last one
  sealIntervalMs: number; // the current WAL segment is closed (pg_switch_wal) and sealed this often
  /** tail_interval: the segment being written is stored and signed as the tail this often; 0 or absent: off. */
  tailIntervalMs?: number | undefined;
  /** The WAL the slot may make the database server keep; past it the slot is dropped and capture starts again. */
  maxHeldWalBytes: number;
  /** pitr_window: base backups and segments older than this go (never what a restore to its start needs); null keeps all. */
  pitrWindowMs: number | null;
}
