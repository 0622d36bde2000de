// Backup freshness: warns when the newest trusted backup is older than twice the task's period.
import type { BackupDeps } from './deps';
import { formatDuration } from '../units';
import { trustedOf } from './trust';
import { recoveredEvent } from '../ports/notifier';

/** True when there is no good backup, or the newest is older than twice the period (one missed run is tolerated). */
export function isStale(lastGoodAt: Date | null, periodMs: number, now: Date): boolean {
  if (!lastGoodAt) return true;
  return now.getTime() - lastGoodAt.getTime() > 2 * periodMs;
}

export interface FreshnessReport {
  lastGoodAt: Date | null;
  stale: boolean;
}

/** Called by the scheduler after each run. Reads manifests only: the newest trusted backup by its signed time. */
export async function checkFreshness(
  ctx: Pick<BackupDeps, 'task' | 'admin' | 'clock' | 'logger' | 'rehearsals' | 'notifier'>,
  options: { warn?: boolean } = {},
): Promise<FreshnessReport | null> {
  const task = ctx.task.snapshot();
  if (!task) return null; // no task, nothing to be fresh
  const { settings, store } = task;
  const entries = await store.list();
  const trusted = trustedOf(entries, ctx.admin.databaseName);
  // Rehearsals just turned on, or one lost to a restart: the newest backup without any record gets one.
  const newestTrusted = trusted[0];
  if (settings.rehearse && newestTrusted && !newestTrusted.rehearsal)
    ctx.rehearsals?.enqueue(newestTrusted.file);
  // With rehearsals on, a backup counts as good only once it was restored in full (a signed, passed rehearsal).
  const good = trusted.filter(
    (e) => !settings.rehearse || (e.rehearsal?.state === 'trusted' && e.rehearsal.record.ok),
  );
  const newest = good[0]?.manifest;
  const lastGoodAt = newest ? new Date(newest.createdAt) : null;
  const stale = isStale(lastGoodAt, settings.periodMs, ctx.clock.now());
  // Right after a backup its rehearsal is still to come: within the period, that is no reason to warn.
  const awaiting =
    settings.rehearse && newestTrusted?.manifest && !newestTrusted.rehearsal ? newestTrusted.manifest : null;
  if (stale && awaiting && !isStale(new Date(awaiting.createdAt), settings.periodMs, ctx.clock.now())) {
    ctx.logger.info(
      `The newest backup '${awaiting.file}' counts as good once its rehearsal passes (rehearse = true); it is queued.`,
    );
  } else if (stale) {
    const period = formatDuration(settings.periodMs);
    const line = lastGoodAt
      ? `The newest good backup is from ${lastGoodAt.toISOString()}, older than twice the period (${period}): check the backup task.`
      : `There is no good backup in ${store.directory}, and the period is ${period}: check the backup task.`;
    if (options.warn !== false) ctx.logger.warn(line);
    tellStale(ctx, line, settings.rehearse === true);
  }
  if (!stale) {
    const database = ctx.admin.databaseName;
    ctx.notifier?.resolved(
      `backup_stale:${database}`,
      recoveredEvent(
        'backup_stale',
        database,
        `The newest good backup is from ${lastGoodAt?.toISOString()}.`,
      ),
    );
  }
  return { lastGoodAt, stale };
}

/**
 * `rehearse` turned on by a reload: the newest trusted backup without a rehearsal record is queued at once (not only
 * after the next scheduled run, up to a period later), and the log says which one. Returns the file queued, if any.
 */
export async function rehearseNewestOnTurnOn(
  ctx: Pick<BackupDeps, 'task' | 'admin' | 'logger' | 'rehearsals'>,
): Promise<string | null> {
  const task = ctx.task.snapshot();
  if (!task?.settings.rehearse || !ctx.rehearsals) return null;
  const newest = trustedOf(await task.store.list(), ctx.admin.databaseName)[0];
  if (!newest) {
    ctx.logger.info('rehearse is on: there is no backup yet; the next backup is rehearsed when it is made.');
    return null;
  }
  if (newest.rehearsal) {
    ctx.logger.info(`rehearse is on: the newest backup '${newest.file}' has a rehearsal record already.`);
    return null;
  }
  ctx.rehearsals.enqueue(newest.file);
  ctx.logger.info(`rehearse is on: queued the rehearsal of the newest backup '${newest.file}'.`);
  return newest.file;
}

function tellStale(ctx: Pick<BackupDeps, 'admin' | 'notifier'>, line: string, rehearse: boolean): void {
  const database = ctx.admin.databaseName;
  ctx.notifier?.problem(`backup_stale:${database}`, {
    kind: 'backup_stale',
    severity: 'critical',
    database,
    backup: null,
    reason: line.replace(/: check the backup task\.$/, '.'),
    suggestion:
      'Check that the server runs its database_backup task (scheduled = true) and why recent runs failed' +
      (rehearse ? ' or were not rehearsed (rehearse = true counts only rehearsed backups).' : '.'),
  });
}
