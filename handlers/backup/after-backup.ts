// The steps after a stored backup that delete (local retention, the off-site copy with its retention): each only
// while the backup lock is still this process's, and neither turns the stored backup into a failure.
import type { BackupTask } from '../ports/backup-store';
import type { LockLease } from '../ports/database-admin';
import type { ProgressReporter } from '../ports/progress';
import type { BackupDeps } from './deps';
import { ensureLockHeld } from './lock';

/** Retention after a backup that succeeded, so that a failing task never eats into the good ones. */
export async function applyRetention(
  ctx: Pick<BackupDeps, 'logger'>,
  task: BackupTask,
  lease: LockLease,
  database: string,
  progress: ProgressReporter,
): Promise<void> {
  const keep = task.settings.keep;
  if (keep === null) return;
  progress.phase('applying retention');
  // Deletes are irreversible: only while the lock is still ours (another replica may be mid-backup otherwise).
  await ensureLockHeld(lease, database, 'the removal of old backups (retention)')
    .then(() => task.store.prune({ database, keep }))
    .then((result) => {
      for (const removed of result.removed)
        ctx.logger.info(`Removed old database backup ${removed} (keep = ${keep}).`);
    })
    .catch((error: unknown) =>
      ctx.logger.warn(
        `Retention after the backup failed: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
}

/** The off-site copy and its retention; a warning when it failed or was skipped (the local backup stands). */
export async function copyOffsite(
  ctx: Pick<BackupDeps, 'logger' | 'offsite'>,
  task: BackupTask,
  lease: LockLease,
  database: string,
  progress: ProgressReporter,
): Promise<string | null> {
  if (!ctx.offsite) return null;
  const offsite = ctx.offsite;
  progress.phase('copying off-site');
  // The copy ends with off-site retention (deletes): like local retention, only while the lock is ours.
  // copy() itself never throws: a store problem leaves the local backup standing.
  return ensureLockHeld(lease, database, 'the off-site copy and its retention')
    .then(() => offsite.copy(task))
    .then((report) =>
      report?.failure
        ? `The off-site copy failed; the backup is kept locally and copied on the next run: ${report.failure}`
        : null,
    )
    .catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      ctx.logger.warn(`Off-site copy after the backup skipped: ${reason}`);
      return `The off-site copy after the backup was skipped: ${reason}`;
    });
}
