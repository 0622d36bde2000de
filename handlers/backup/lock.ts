// One backup or restore at a time per database, also across replicas (an advisory lock held by DatabaseAdmin).
import { AppError } from '../errors';
import type { DatabaseAdmin, LockLease } from '../ports';

export function backupLockName(database: string): string {
  return `bomnipotent-backup:${database}`;
}

export function backupBusy(database: string): AppError {
  return new AppError(
    'BACKUP.BUSY',
    'conflict',
    `A backup or restore of database '${database}' is already running (on this server or another replica).`,
    { suggestion: 'Wait for it to finish, then try again.', retryAfterSeconds: 10 },
  );
}

/** Runs fn holding the lock; throws BACKUP.BUSY when another backup or restore holds it. */
export async function withBackupLock<T>(
  admin: DatabaseAdmin,
  fn: (lease: LockLease) => Promise<T>,
): Promise<T> {
  const result = await admin.tryWithLock(backupLockName(admin.databaseName), fn);
  if (!result.acquired) throw backupBusy(admin.databaseName);
  return result.value;
}

/** Throws BACKUP.LOCK_LOST unless the lock is still ours: asked right before a step that cannot be undone. */
export async function ensureLockHeld(lease: LockLease, database: string, step: string): Promise<void> {
  if (await lease.held()) return;
  throw new AppError(
    'BACKUP.LOCK_LOST',
    'failed',
    `The backup/restore lock of database '${database}' was lost (its database session ended), so ${step} did not happen.`,
    {
      suggestion:
        'Another replica may be running a backup or restore now. Check the database connection, then try again.',
    },
  );
}
