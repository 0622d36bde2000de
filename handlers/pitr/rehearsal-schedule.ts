// When the server rehearses a restore to a point on its own (rehearse = true and continuous = true): as soon as a
// restorable window exists and no trusted record does, then once per `period` (after a failure again after an hour,
// or `period` when shorter). The point is random: the source's counts are taken after a random pause of up to
// 10 minutes (or `period`), so that it is not always the same moment after a base backup or a seal. A rehearsal that
// cannot run for two periods is told to the admin like a failed one.
import { isAppError } from '../errors';
import type { RehearseDeps } from '../backup/rehearse-backup';
import type { TrustedPitrRehearsal } from './rehearsal-record';
import { rehearsePoint } from './rehearse-point';

export const PITR_RETRY_AFTER_FAILURE_MS = 60 * 60_000;
const MAX_RANDOM_PAUSE_MS = 10 * 60_000;

/** Whether a scheduled PITR rehearsal is due, from the last record (null: none) and the task's period. */
export function pitrRehearsalDue(last: TrustedPitrRehearsal | null, periodMs: number, now: Date): boolean {
  if (!last?.ok) return true; // never rehearsed, or its record is not trusted
  const age = now.getTime() - Date.parse(last.record.rehearsedAt);
  return age >= (last.record.ok ? periodMs : Math.min(periodMs, PITR_RETRY_AFTER_FAILURE_MS));
}

/** Whether a trusted record of a passed rehearsal younger than `ms` exists. */
function provenWithin(last: TrustedPitrRehearsal | null, ms: number, now: Date): boolean {
  return !!last?.ok && last.record.ok && now.getTime() - Date.parse(last.record.rehearsedAt) < ms;
}

/**
 * A rehearsal that cannot run (no quiet moment to count the source: a database written to or holding a transaction
 * open all the time) leaves the restore to a point unproven: past two periods without a passed one, the admin is told
 * like of a failed rehearsal (one problem, reminders, "recovered" once one passes), not only the log.
 */
function tellUnproven(ctx: RehearseDeps, message: string): void {
  const database = ctx.admin.databaseName;
  ctx.notifier?.problem(`pitr_rehearsal_failed:${database}`, {
    kind: 'rehearsal_failed',
    severity: 'warning',
    database,
    backup: null,
    reason: `No restore to a point has been proven for two periods: ${message}`,
    suggestion:
      'Run database-backup rehearse --pitr at a quieter time; a transaction held open on the database (idle in transaction) keeps it from ever running.',
  });
}

/**
 * One look of the schedule: rehearses when due (after the random pause `random` × the longest pause, random in
 * [0, 1)). Never throws: a failure is recorded and told by the rehearsal, anything else logged.
 */
export async function runScheduledPitrRehearsal(
  ctx: RehearseDeps,
  random: number,
  signal?: AbortSignal,
): Promise<'off' | 'not due' | 'ran'> {
  const task = ctx.task.snapshot();
  const store = task?.store;
  if (!task?.settings.rehearse || !task.settings.continuous || !store?.pitrRehearsal || !store.pitr)
    return 'off';
  const [last, catalog] = await Promise.all([store.pitrRehearsal.read(), store.pitr()]);
  if (!catalog.window || !pitrRehearsalDue(last, task.settings.periodMs, ctx.clock.now())) return 'not due';
  await ctx.clock.sleep(Math.floor(random * Math.min(task.settings.periodMs, MAX_RANDOM_PAUSE_MS)), signal);
  if (signal?.aborted) return 'not due';
  await rehearsePoint(ctx).catch((error: unknown) => {
    if (isAppError(error) && error.code === 'PITR.REHEARSAL_FAILED') return; // recorded, logged and told
    const message = `The scheduled PITR rehearsal did not run: ${error instanceof Error ? error.message : String(error)}`;
    if (
      isAppError(error) &&
      error.code === 'PITR.REHEARSAL_NOT_RUN' &&
      !provenWithin(last, 2 * task.settings.periodMs, ctx.clock.now())
    )
      tellUnproven(ctx, message);
    if (isAppError(error) && error.kind === 'conflict') ctx.logger.info(message);
    else ctx.logger.error(message);
  });
  return 'ran';
}
