// The cluster-wide advisory locks (held by DatabaseAdmin): one backup or restore at a time per database, one rehearsal,
// and the standby while it changes hands; also across replicas.
import { AppError } from '../errors';
import type { Clock } from '../ports/clock';
import type { DatabaseLock, LockLease } from '../ports/database-admin';
import { standbyName } from './database-names';

export function backupLockName(database: string): string {
  return `bomnipotent-backup:${database}`;
}

/** One rehearsal at a time per database, across replicas; it never holds the backup lock, so backups go on. */
export function rehearsalLockName(database: string): string {
  return `bomnipotent-rehearsal:${database}`;
}

/** Held while the standby changes hands: a rehearsal installing a new one, or a restore swapping it in. */
export function standbyLockName(database: string): string {
  return `bomnipotent-standby:${database}`;
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
  admin: DatabaseLock,
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

/** Runs fn holding the standby lock, waiting (up to waitMs) while someone else holds it. */
export async function withStandbyLock<T>(
  admin: DatabaseLock,
  clock: Clock,
  waitMs: number,
  fn: (lease: LockLease) => Promise<T>,
): Promise<T> {
  const deadline = clock.elapsedMs() + waitMs;
  for (;;) {
    const result = await admin.tryWithLock(standbyLockName(admin.databaseName), fn);
    if (result.acquired) return result.value;
    if (clock.elapsedMs() >= deadline) {
      throw new AppError(
        'BACKUP.STANDBY_BUSY',
        'conflict',
        `The standby database '${standbyName(admin.databaseName)}' stayed in use by another operation for ${Math.round(waitMs / 1000)} s.`,
        {
          suggestion: 'Try again once the running restore or rehearsal has finished.',
          retryAfterSeconds: 10,
        },
      );
    }
    await clock.sleep(200);
  }
}
