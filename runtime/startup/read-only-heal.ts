// A restore killed on one replica leaves the database read-only for all of them. The replicas left behind do not
// wait for it to come back: a write refused as read-only (at most every HEAL_EVERY_MS) checks, under the backup
// lock (so never while a restore runs), for such a leftover, migrates and resets it, as start-up recovery would.
import { backupLockName } from '../../handlers/backup/lock';
import { resetLeftoverReadOnly } from '../../handlers/backup/recover';
import type { BackupDeps } from '../../handlers/backup/deps';
import type { Logger } from '../../handlers/ports/logger';
import type { DbHandle } from '../db/handle';
import { migrate } from '../db/migrate';

const HEAL_EVERY_MS = 10_000;

export function createReadOnlyHealer(deps: {
  backups: BackupDeps;
  db: DbHandle;
  logger: Logger;
}): () => void {
  const { backups, db, logger } = deps;
  let last = 0;
  let running = false;
  const heal = async () => {
    const database = backups.admin.databaseName;
    const result = await backups.admin.tryWithLock(backupLockName(database), async () => {
      if (!(await backups.admin.refusesWrites(database))) {
        // The database takes writes, yet a session refused one: it began while the setting held and was missed when
        // the restore ended them. Ending the older sessions lets them reconnect writable.
        logger.warn(
          `A session of '${database}' still refused writes after a restore; ending the older sessions.`,
        );
        await backups.admin.allowWrites(database);
        return;
      }
      logger.warn(
        `'${database}' is read-only, but no restore holds the backup lock: a restore was interrupted.`,
      );
      // A restore killed right after its swap leaves the restored copy unmigrated: migrate before writes come.
      await migrate(db.pool(), logger);
      await resetLeftoverReadOnly(backups, [database]);
    });
    if (!result.acquired) logger.debug('Writes are refused while a backup or restore holds the lock.');
  };
  return () => {
    const now = Date.now();
    if (running || now - last < HEAL_EVERY_MS) return;
    last = now;
    running = true;
    heal()
      .catch((error: unknown) =>
        logger.warn(
          `Could not check for a read-only setting left by an interrupted restore: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .finally(() => (running = false));
  };
}
