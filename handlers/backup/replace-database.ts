// The irreversible half of a restore: writes refused everywhere, the scratch copy loaded (or the standby taken), the
// swap, then writes allowed again; the replaced database kept or dropped. The old database stays until the new is in.
import { AppError, isAppError, sentenceOf as describe } from '../errors';
import { NO_PROGRESS } from '../ports/progress';
import { restoreDatabaseNames } from './database-names';
import { ensureLockHeld } from './lock';
import { reportMissingRoles } from './missing-roles';
import type { RestoreDeps, RestoreHooks, RestorePlan } from './restore-plan';
import { takeStandby, type RestoreSource } from './standby';
import { allowWritesAgain, swapIn } from './swap-in';

const WRITES_SETTLE_MS = 30_000; // how long a restore waits for writes that started before read-only

/**
 * Scratch restore while the server stays readable (or the rehearsed standby renamed to the scratch name), then the
 * swap; the old database stays until the new one is in. Returns where the data came from.
 */
export async function replaceDatabase(
  ctx: RestoreDeps,
  plan: RestorePlan,
  hooks: RestoreHooks,
): Promise<{ via: RestoreSource['via']; reason: string }> {
  const database = ctx.admin.databaseName;
  const names = restoreDatabaseNames(database, ctx.clock.now());
  const progress = hooks.progress ?? NO_PROGRESS;
  let writesRefused = false;
  let used: RestoreSource = plan.source;
  try {
    progress.phase('waiting for writes');
    // PostgreSQL refuses writes from here on, for every replica (their sessions are ended and come back read-only):
    // a write any replica acknowledges from now on is not lost in the swap. This process's gate then answers first.
    writesRefused = true; // before the call: should it fail halfway, the setting is reset all the same
    await ctx.admin.refuseWrites(database);
    ctx.logger.info(`Writes to '${database}' are refused on every replica until the restore is over.`);
    ctx.maintenance.set('read-only', 'a restore is preparing the new database');
    if (!(await ctx.maintenance.writesSettled(WRITES_SETTLE_MS))) {
      throw new AppError(
        'BACKUP.WRITES_RUNNING',
        'conflict',
        `Write requests were still running ${WRITES_SETTLE_MS / 1000} s after the server stopped taking new ones; the restore did not start.`,
        { suggestion: 'Nothing was changed. Try again when the server is less busy.', retryAfterSeconds: 10 },
      );
    }
    // The standby is checked again under its lock, right before it is taken: it may have changed since the choice.
    if (plan.source.via === 'standby') {
      const taken = await takeStandby(ctx, plan.source, names.scratch);
      used = taken.ok ? plan.source : { via: 'file', reason: taken.reason };
      if (!taken.ok)
        ctx.logger.warn(`The standby is not used after all (${taken.reason}); loading the file.`);
    }
    if (used.via === 'file') {
      await loadScratch(ctx, plan, names.scratch, hooks);
    }
    // The load is done: the steps after it are phases of their own, not a bar that sits near its end.
    progress.phase('preparing the swap');
    await checkAdminsRemain(ctx, plan, names.scratch);
    // While reads are still answered: the bulk of the replay guard goes over now, the swap adds what comes since.
    await ctx.lifecycle
      .carrySignaturesAhead(names.scratch)
      .catch((error: unknown) =>
        ctx.logger.warn(
          `Could not carry the seen signatures ahead of the swap (${describe(error)}); the swap carries them all.`,
        ),
      );
    try {
      // Another replica may hold the lock now and run its own restore: never two swaps.
      await ensureLockHeld(plan.lease, database, `the swap of the restored copy into '${database}'`);
      // The restored copy goes in read-only too: no replica writes to it before its migrations and carry-over are
      // done. Set here, outside the moment of the swap, which it would only lengthen.
      await ctx.admin.refuseWrites(names.scratch);
    } catch (error) {
      await ctx.admin.dropDatabase(names.scratch).catch(() => {});
      throw error;
    }
    await plan.recordIntent(
      `Swapping the restored '${plan.file}' in for '${database}'${used.via === 'standby' ? ' (from its rehearsed standby)' : ''}; the previous database is set aside as '${names.aside}'.`,
    );
    ctx.maintenance.set('unavailable', 'a restore is swapping in the new database');
    progress.phase('swapping');
    await swapIn(ctx, names, hooks);
  } finally {
    if (writesRefused) {
      // Reads are answered again while the database becomes writable; writes are still refused meanwhile.
      if (ctx.maintenance.get().phase === 'unavailable')
        ctx.maintenance.set('read-only', 'a restore is finishing');
      // Whichever database now has the name (the restored one, or the old one put back) carries the setting.
      await allowWritesAgain(ctx, plan.lease);
    }
    ctx.maintenance.set('normal', '');
  }
  await settleReplacedDatabase(ctx, plan.keepOld, names.aside);
  return { via: used.via, reason: used.reason };
}

/** The replaced database, set aside by the swap: kept writable (keep_old_database), or dropped in the background. */
async function settleReplacedDatabase(ctx: RestoreDeps, keepOld: boolean, aside: string): Promise<void> {
  if (keepOld) {
    await ctx.admin
      .allowWrites(aside)
      .catch((error: unknown) =>
        ctx.logger.warn(
          `Could not make the kept database '${aside}' writable (${describe(error)}); before using it run: ALTER DATABASE "${aside}" RESET default_transaction_read_only;`,
        ),
      );
    ctx.logger.info(
      `Kept the replaced database as '${aside}' (keep_old_database); drop it when no longer needed.`,
    );
    return;
  }
  // The restore is complete once swapped: the old copy is dropped in the background (dropping a large database
  // takes seconds). Should the server stop first, the next start names the leftover copy in a warning.
  void ctx.admin.dropDatabase(aside).then(
    () => ctx.logger.info(`Dropped the replaced database '${aside}'.`),
    (error: unknown) =>
      ctx.logger.warn(`Could not drop the replaced database '${aside}': ${describe(error)} Drop it by hand.`),
  );
}

/**
 * A restore that would leave no approved admin with a valid key (where there is one now) is refused unless forced:
 * nobody could manage the server after it. Counted after the live database's revocations, denials and role removals.
 */
async function checkAdminsRemain(ctx: RestoreDeps, plan: RestorePlan, scratch: string): Promise<void> {
  const admins = await ctx.lifecycle.adminsThroughRestore(scratch).catch(async (error: unknown) => {
    await ctx.admin.dropDatabase(scratch).catch(() => {});
    throw error;
  });
  if (admins.after.length > 0 || admins.before.length === 0) return;
  if (plan.allowNoAdmin) {
    ctx.logger.warn(
      `Restoring '${plan.file}' leaves no approved admin with a valid key (now: ${admins.before.join(', ')}), on purpose with --allow-no-admin.`,
    );
    return;
  }
  await ctx.admin.dropDatabase(scratch).catch(() => {});
  throw new AppError(
    'BACKUP.NO_ADMIN_LEFT',
    'conflict',
    `Restoring '${plan.file}' would leave no approved admin with a valid key (now: ${admins.before.join(', ')}): ` +
      'in the backup they are missing, not approved, without the admin role or without an unexpired key, or this ' +
      'server has since revoked, denied or demoted them. Nobody could manage the server afterwards.',
    {
      suggestion:
        'Nothing was changed. Restore another backup, or this one on purpose with --allow-no-admin (then make an admin with [user] tmp_admin).',
      details: { file: plan.file },
    },
  );
}

/** The file restored into the scratch database through the executor (verified on the way); the old database untouched. */
async function loadScratch(
  ctx: RestoreDeps,
  plan: RestorePlan,
  scratch: string,
  hooks: RestoreHooks,
): Promise<void> {
  const database = ctx.admin.databaseName;
  const progress = hooks.progress ?? NO_PROGRESS;
  // A plain dump carries neither the database's encoding and locale nor the server's major: the new copy gets them here.
  const locale = await ctx.admin.databaseLocale();
  const serverMajor = Number.parseInt(await ctx.admin.serverVersion(), 10);
  ctx.logger.info(
    `Restoring '${plan.file}' into the scratch database '${scratch}'; the server stays readable.`,
  );
  await hooks.reached?.('scratch');
  progress.phase('restoring', plan.sizeBytes);
  try {
    if (plan.load) await plan.load(scratch, { locale, serverMajor });
    else
      reportMissingRoles(
        ctx.logger,
        await plan.store.restore({
          file: plan.file,
          onProgress: (bytes) => progress.bytes(bytes),
          targetDatabase: scratch,
          allowUnsigned: plan.allowUnsigned,
          serverMajor,
          locale,
        }),
      );
  } catch (error) {
    await ctx.admin.dropDatabase(scratch).catch(() => {}); // the executor drops it too; this is a second net
    // The restore's own full read found the file bad (checksum, size, dump structure): a refused backup, by name.
    if (isAppError(error) && error.code === 'BACKUP.UNTRUSTED') {
      throw new AppError(
        'BACKUP.VERIFICATION_FAILED',
        'conflict',
        `The backup '${plan.path}' fails verification: ${describe(error)} The database '${database}' was not touched.`,
        {
          cause: error,
          suggestion:
            'Nothing was changed. Restore another backup by name with --file <name>, after checking it.',
          details: { file: plan.file },
        },
      );
    }
    throw new AppError(
      'BACKUP.RESTORE_FAILED',
      'failed',
      `Restoring '${plan.file}' failed: ${describe(error)} The database '${database}' was not touched.`,
      {
        cause: error,
        suggestion:
          'See the server log for the tool output; the backup may be damaged or need other privileges.',
        details: isAppError(error) ? { causeCode: error.code } : undefined,
      },
    );
  }
}
