// The ports of the backup use cases, built once in runtime/deps.ts and shared by routes, scheduler and tests. Each use
// case takes the part it uses (CreateBackupDeps, RestoreDeps ...: a Pick of this), and one snapshot of the task.
import { backupTaskNotConfigured } from '../errors';
import type { BackupChainStore } from '../ports/backup-chain';
import type { BackupTask, BackupTaskSource } from '../ports/backup-store';
import type { BackupMetrics } from '../ports/metrics';
import type { Clock } from '../ports/clock';
import type { DatabaseAdmin } from '../ports/database-admin';
import type { DatabaseLifecycle } from '../ports/database-lifecycle';
import type { Logger } from '../ports/logger';
import type { Notifier } from '../ports/notifier';
import type { MaintenanceMode } from '../ports/maintenance';
import type { RehearsalQueue } from '../ports/rehearsal-queue';
import type { OffsiteHooks } from '../offsite/context';

export interface BackupDeps {
  /** The database_backup task as configured now (hot reload): an operation takes one snapshot and keeps it. */
  task: BackupTaskSource;
  chain: BackupChainStore;
  admin: DatabaseAdmin;
  lifecycle: DatabaseLifecycle;
  maintenance: MaintenanceMode;
  metrics: BackupMetrics;
  clock: Clock;
  logger: Logger;
  appVersion: string;
  /** Background rehearsals of new backups (`rehearse = true`); absent: none run in the background. */
  rehearsals?: RehearsalQueue;
  /** Copies in S3-compatible storage (absent in tests that do not need them). */
  offsite?: OffsiteHooks;
  /** The admin's [[notify]] channels (absent: nobody is told, as in most unit tests). */
  notifier?: Notifier;
  /** Aborted when the server shuts down (SIGTERM): a running dump stops and removes its partial file. */
  stopping?: AbortSignal;
}

/** The task's snapshot for one operation; BACKUP.TASK_NOT_CONFIGURED when there is no database_backup task. */
export function openTask(deps: Pick<BackupDeps, 'task'>): BackupTask {
  const task = deps.task.snapshot();
  if (!task) throw backupTaskNotConfigured();
  return task;
}
