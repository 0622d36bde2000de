// The swap of a restore and its undoing: the old database renamed aside, the restored copy renamed in, migrated and
// carried over; on failure put back. Then the read-only time ends, only under the backup lock.
import { AppError, sentenceOf as describe } from '../errors';
import type { Clock } from '../ports/clock';
import type { LockLease } from '../ports/database-admin';
import { NO_PROGRESS } from '../ports/progress';
import { backupLockName } from './lock';
import type { RestoreDeps, RestoreHooks } from './restore-plan';

const LOCK_RETRY_MS = 10_000;
const LOCK_RETRIES = 360; // an hour; after that, the next start of any server resets it (start-up recovery)

/**
 * The end of the read-only time. Only under the backup lock: should this restore have lost it, another replica may
 * be restoring now and hold the database read-only on purpose; the reset then waits, in the background, until the
 * lock is free (a restore that held it has reset the setting itself by then; resetting again changes nothing).
 */
export async function allowWritesAgain(ctx: RestoreDeps, lease: LockLease): Promise<void> {
  const { admin, logger } = ctx;
  const database = admin.databaseName;
  const resetUnderFreeLock = async (): Promise<boolean> =>
    (await admin.tryWithLock(backupLockName(database), () => admin.allowWrites(database))).acquired;
  try {
    if (await lease.held()) {
      await admin.allowWrites(database);
    } else if (!(await resetUnderFreeLock())) {
      logger.warn(
        `'${database}' stays read-only while another backup or restore holds the lock this restore lost; ` +
          `writes are accepted again once it is free.`,
      );
      void retryInBackground(ctx.clock, resetUnderFreeLock).then(
        (done) => done && logger.info(`Writes to '${database}' are accepted again.`),
        (error: unknown) =>
          logger.error(`Could not make '${database}' writable again (${describe(error)}); restart a server.`),
      );
      return;
    }
    logger.info(`Writes to '${database}' are accepted again.`);
  } catch (error) {
    logger.error(
      `Could not make '${database}' writable again after the restore (${describe(error)}): every replica refuses writes ` +
        `until a server starts (its start-up recovery resets it) or an administrator runs: ` +
        `ALTER DATABASE "${database}" RESET default_transaction_read_only;`,
    );
  }
}

async function retryInBackground(clock: Clock, attempt: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < LOCK_RETRIES; i += 1) {
    await clock.sleep(LOCK_RETRY_MS);
    if (await attempt()) return true;
  }
  return false;
}

type SwapStep = 'drained' | 'aside' | 'swapped';

export async function swapIn(
  ctx: RestoreDeps,
  names: { scratch: string; aside: string },
  hooks: RestoreHooks,
): Promise<void> {
  const { admin, lifecycle } = ctx;
  const database = admin.databaseName;
  let step: SwapStep = 'drained';
  try {
    await lifecycle.drainPool();
    await admin.renameDatabase(database, names.aside);
    step = 'aside';
    await hooks.reached?.('swap');
    await admin.renameDatabase(names.scratch, database);
    step = 'swapped';
    await lifecycle.reopenPool();
    // The hand-over's mark served the copy's checks; the database in place keeps no trace of the load.
    await admin
      .clearHandOverMark?.(database)
      .catch((error: unknown) =>
        ctx.logger.warn(
          `Could not remove the comment 'bomnipotent hand-over ...' from '${database}' (${describe(error)}); remove it by hand: COMMENT ON DATABASE "${database}" IS NULL;`,
        ),
      );
    await hooks.reached?.('swapped');
    const progress = hooks.progress ?? NO_PROGRESS;
    progress.phase('migrating');
    const version = await lifecycle.migrate();
    ctx.logger.info(`The restored database '${database}' is in place at schema version ${version}.`);
    progress.phase('carrying over signatures and revocations');
    await lifecycle.carryOverFrom(names.aside).catch((error: unknown) => {
      // The restore itself succeeded; say plainly what is weaker until the signature window has passed.
      ctx.logger.warn(
        `Could not carry the recently seen request signatures, key revocations and denials over into the restored database (${describe(error)}); ` +
          'requests signed in the last minutes could be replayed until the signature window has passed.',
      );
    });
  } catch (error) {
    await putBack(ctx, names, step, error);
  }
}

/** Undoes the swap so far: the restored copy goes back to its scratch name and is dropped, the old database returns. */
async function putBack(
  ctx: RestoreDeps,
  names: { scratch: string; aside: string },
  step: SwapStep,
  error: unknown,
): Promise<never> {
  const { admin, lifecycle, logger } = ctx;
  const database = admin.databaseName;
  logger.error(`The swap to the restored database failed (${describe(error)}); putting '${database}' back.`);
  try {
    if (step === 'swapped') {
      await lifecycle.drainPool();
      await admin.renameDatabase(database, names.scratch);
    }
    if (step !== 'drained') await admin.renameDatabase(names.aside, database);
  } catch (rollbackError) {
    await lifecycle.reopenPool().catch(() => {});
    throw new AppError(
      'BACKUP.ROLLBACK_FAILED',
      'failed',
      `The restore failed and putting the previous database back failed too (${describe(rollbackError)}).`,
      {
        cause: error,
        suggestion:
          `The previous database is kept as '${names.aside}'. Restart the server: it renames it back on start-up ` +
          `when '${database}' is missing. Do not drop databases by hand before that.`,
      },
    );
  }
  await lifecycle.reopenPool();
  await admin.dropDatabase(names.scratch).catch(() => {});
  throw new AppError(
    'BACKUP.SWAP_FAILED',
    'failed',
    `Swapping in the restored database failed: ${describe(error)} The previous database '${database}' is back in place.`,
    { cause: error, suggestion: 'See the server log for details.' },
  );
}
