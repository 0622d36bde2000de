// The restore's shared shapes: the ports it takes, its test hooks, and the plan the runbook hands to the swap.
import type { LockLease } from '../ports/database-admin';
import type { BackupStore } from '../ports/backup-store';
import type { ProgressReporter } from '../ports/progress';
import type { BackupDeps } from './deps';
import type { DatabaseLocale } from './model';
import type { RestoreSource } from './standby';

/** What a restore takes: the task's snapshot, the database, its copies and its pool, the gate, and what it reports to. */
export type RestoreDeps = Pick<
  BackupDeps,
  | 'task'
  | 'admin'
  | 'chain'
  | 'lifecycle'
  | 'maintenance'
  | 'metrics'
  | 'clock'
  | 'logger'
  | 'offsite'
  | 'rehearsals'
  | 'notifier'
>;

/** Points where a test can stop the restore (e.g. to kill the process there); the server passes no hooks. */
export type RestorePhase = 'scratch' | 'swap' | 'swapped';

export interface RestoreHooks {
  reached?(phase: RestorePhase): Promise<void>;
  /** Where the restore reports how far it got (a long operation's record); optional. */
  progress?: ProgressReporter | undefined;
}

export interface RestorePlan {
  store: BackupStore;
  file: string;
  path: string;
  keepOld: boolean;
  /** The file is restored on purpose without a trusted signature (--allow-unsigned). */
  allowUnsigned: boolean;
  /** Restore even if no approved admin with a valid key would remain (--allow-no-admin). */
  allowNoAdmin: boolean;
  sizeBytes: number;
  lease: LockLease;
  /** Audits the swap before it starts: a server killed during or after it still leaves who replaced the data. */
  recordIntent(message: string): Promise<void>;
  /** The rehearsed standby holding this very backup, or the file to load. */
  source: RestoreSource;
  /** Loads the scratch database some other way than restoring `file` (point-in-time recovery). */
  load?: (scratch: string, target: { locale: DatabaseLocale; serverMajor: number }) => Promise<void>;
}
