// What the status at a glance reads besides the backup directory: records every replica shares in the database.
import type { Severity } from './notifier';

export interface TaskRunRecord {
  startedAt: Date;
  finishedAt: Date | null;
  outcome: 'running' | 'succeeded' | 'failed' | 'skipped';
}

export interface OpenProblem {
  /** The event kind (backup_failed, backup_stale ...). */
  kind: string;
  severity: Severity;
  since: Date;
  reason: string;
  suggestion: string | null;
  backup: string | null;
}

/** The off-site state of one store location as the replicas' copy runs recorded it (shared, survives a restart). */
export interface OffsiteRecord {
  /** The signed time of the newest trusted backup in the store when a copy run last read it; null: none; undefined: never read. */
  newestConfirmedAt: Date | null | undefined;
  /** The last copy run of any replica: when it ended and why it failed (null: it succeeded). */
  lastCopy: { at: Date; failure: string | null };
}

export interface StatusSources {
  /** The last run of a periodic task, whatever its outcome; null when it never ran. */
  lastRun(task: string): Promise<TaskRunRecord | null>;
  /** The problems the notifier opened and that are not over (one per problem), with or without a [[notify]] channel. */
  openProblems(): Promise<OpenProblem[]>;
  /** The off-site state of a store location; null: no copy run recorded one yet. */
  offsite(location: string): Promise<OffsiteRecord | null>;
}
