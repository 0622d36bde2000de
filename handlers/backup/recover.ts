// At start-up, before the pool opens: finish what a killed restore left behind, so the server has its database.
import type { BackupTask } from '../ports/backup-store';
import type { BackupDeps } from './deps';
import { ASIDE_INFIX, REHEARSAL_INFIX, SCRATCH_INFIX } from './database-names';
import { backupLockName, rehearsalLockName } from './lock';

/** What start-up recovery takes: the database and its copies, the task (its audit log), the clock and the log. */
export type RecoveryDeps = Pick<BackupDeps, 'task' | 'admin' | 'clock' | 'logger'>;

export interface RecoveryReport {
  /** Another process (a replica) holds the backup/restore lock, so its restore may still be running: nothing done. */
  skipped: boolean;
  /** The renamed-aside copy that became the database again, when the database was missing. */
  renamedBack: string | null;
  droppedScratch: string[];
  /** Renamed-aside copies left in place (see recoverInterruptedRestore). */
  keptAside: string[];
  /** Databases that a killed restore left read-only for every replica, made writable again. */
  madeWritable: string[];
}

const STAMP = /^\d{14}$/;

/**
 * 1. The database is missing (killed between the two renames of the swap): the newest `<db>_pre_restore_<ts>` becomes
 *    the database again, so the server comes back with its previous content.
 * 2. Scratch databases `<db>_restore_<ts>` are half-built or never swapped in: dropped, but only once the database
 *    exists, since they are then never the only copy.
 * 3. Other `<db>_pre_restore_<ts>` copies are kept and named in a warning: the restore that made them was interrupted
 *    before it reported success, so the admin decides (keep_old_database = true keeps them on purpose anyway).
 */
export async function recoverInterruptedRestore(ctx: RecoveryDeps): Promise<RecoveryReport> {
  const { admin, logger } = ctx;
  const task = ctx.task.snapshot();
  const database = admin.databaseName;
  const result = await admin.tryWithLock(backupLockName(database), async () => {
    const report: RecoveryReport = {
      skipped: false,
      renamedBack: null,
      droppedScratch: [],
      keptAside: [],
      madeWritable: [],
    };
    const aside = await copiesOf(ctx, ASIDE_INFIX);
    if (!(await admin.databaseExists(database))) {
      const newest = aside.pop(); // names sort by their UTC stamp
      if (!newest) {
        logger.error(
          `The database '${database}' does not exist and no '${database}${ASIDE_INFIX}*' copy was found to bring back.`,
        );
        return report;
      }
      await admin.renameDatabase(newest, database);
      report.renamedBack = newest;
      logger.warn(
        `A restore was interrupted during its swap: renamed '${newest}' back to '${database}' (the previous content).`,
      );
    }
    for (const scratch of await copiesOf(ctx, SCRATCH_INFIX)) {
      await admin.dropDatabase(scratch);
      report.droppedScratch.push(scratch);
      logger.warn(`Dropped '${scratch}', the unfinished scratch database of an interrupted restore.`);
    }
    report.keptAside = aside;
    report.madeWritable = await resetLeftoverReadOnly(ctx, [database, ...aside]);
    await auditRecovery(ctx, task, report);
    if (aside.length > 0 && !task?.settings.keepOldDatabase) {
      const list = aside.map((n) => `'${n}'`).join(', ');
      logger.warn(
        `Kept ${list}: the previous database(s) of a restore that was interrupted after its swap. ` +
          `Once '${database}' is confirmed good, drop each with: DROP DATABASE "<name>" WITH (FORCE);`,
      );
    }
    return report;
  });
  if (!result.acquired) {
    logger.info(
      `A backup or restore of '${database}' is running elsewhere; interrupted-restore recovery skipped.`,
    );
    return { skipped: true, renamedBack: null, droppedScratch: [], keptAside: [], madeWritable: [] };
  }
  return result.value;
}

/**
 * Only while holding the backup lock, so no restore runs: a read-only setting is then a killed restore's leftover (on
 * the database, or on a copy renamed aside with it), which would refuse every replica's writes for good.
 */
export async function resetLeftoverReadOnly(
  ctx: Pick<BackupDeps, 'admin' | 'logger'>,
  names: string[],
): Promise<string[]> {
  const reset: string[] = [];
  for (const name of names) {
    if (!(await ctx.admin.refusesWrites(name))) continue;
    await ctx.admin.allowWrites(name);
    reset.push(name);
    ctx.logger.warn(
      `'${name}' was left read-only by an interrupted restore (default_transaction_read_only); writes are accepted again.`,
    );
  }
  return reset;
}

/**
 * Scratch copies `<db>_rehearsal_<ts>` of a rehearsal killed halfway are dropped, unless a rehearsal holds its lock
 * (a replica's rehearsal is still building one). The standby itself is only ever replaced whole, so it stays.
 */
export async function recoverInterruptedRehearsal(
  ctx: Pick<BackupDeps, 'admin' | 'logger'>,
): Promise<string[]> {
  const result = await ctx.admin.tryWithLock(rehearsalLockName(ctx.admin.databaseName), async () => {
    const dropped: string[] = [];
    for (const scratch of await copiesOf(ctx, REHEARSAL_INFIX)) {
      await ctx.admin.dropDatabase(scratch);
      dropped.push(scratch);
      ctx.logger.warn(`Dropped '${scratch}', the unfinished copy of an interrupted rehearsal.`);
    }
    return dropped;
  });
  return result.acquired ? result.value : [];
}

/** The outcome of an interrupted restore, as found here, goes to the audit log next to the intent it recorded. */
async function auditRecovery(
  ctx: RecoveryDeps,
  task: BackupTask | undefined,
  report: RecoveryReport,
): Promise<void> {
  const settings = task?.settings;
  const database = ctx.admin.databaseName;
  const found: { outcome: 'failed' | 'succeeded'; message: string }[] = [];
  if (report.renamedBack) {
    found.push({
      outcome: 'failed',
      message: `Start-up recovery: a restore was interrupted during its swap; '${report.renamedBack}' was renamed back, so '${database}' holds its previous content.`,
    });
  } else if (report.droppedScratch.length > 0) {
    found.push({
      outcome: 'failed',
      message: `Start-up recovery: a restore was interrupted before its swap (dropped ${report.droppedScratch.join(', ')}); '${database}' was not changed.`,
    });
  }
  if (report.keptAside.length > 0 && !settings?.keepOldDatabase) {
    found.push({
      outcome: 'succeeded',
      message: `Start-up recovery: a restore swapped its backup in before the server stopped; '${database}' holds the backup's data and the previous database is kept as ${report.keptAside.join(', ')}.`,
    });
  }
  if (!task || found.length === 0) return;
  for (const { outcome, message } of found) {
    const record = { at: ctx.clock.now().toISOString(), action: 'restore' as const, outcome, user: null };
    await task.store
      .appendAudit({ ...record, trigger: 'manual', file: null, message })
      .catch((error: unknown) =>
        ctx.logger.error(
          `Could not append to the backup audit log: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }
}

/** `<db><infix><YYYYMMDDHHMMSS>` databases, oldest first; the prefix is rechecked because LIKE treats `_` as a wildcard. */
async function copiesOf(ctx: Pick<BackupDeps, 'admin'>, infix: string): Promise<string[]> {
  const prefix = `${ctx.admin.databaseName}${infix}`;
  const names = await ctx.admin.listDatabases(prefix);
  return names.filter((n) => n.startsWith(prefix) && STAMP.test(n.slice(prefix.length))).sort();
}
