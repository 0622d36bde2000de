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

export interface StatusSources {
  /** The last run of a periodic task, whatever its outcome; null when it never ran. */
  lastRun(task: string): Promise<TaskRunRecord | null>;
  /** The problems the notifier told the [[notify]] channels of and that are not over (one per problem). */
  openProblems(): Promise<OpenProblem[]>;
}
