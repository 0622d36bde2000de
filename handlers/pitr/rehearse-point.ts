// The PITR rehearsal: the live database's row counts read at one exact WAL position (the point), then, once the
// restorable window covers it, a restore to that point through the restore's own recovery (the signed files checked,
// a private temporary instance, the content copied into a scratch database `<db>_rehearsal_<stamp>`), its rows counted
// with every other session shut out, and compared table by table. The scratch database is dropped afterwards, pass or
// fail; the live database is only read. The outcome is signed into `pitr/rehearsal.json`.
import { AppError } from '../errors';
import { recoveredEvent } from '../ports/notifier';
import type { BackupStore } from '../ports/backup-store';
import { openTask } from '../backup/deps';
import { rehearsalScratchName } from '../backup/database-names';
import { rehearsalLockName } from '../backup/lock';
import { rehearsalBusy, type RehearseDeps } from '../backup/rehearse-backup';
import { countDifferences, PITR_REHEARSAL_FORMAT, type PitrCountMark } from './rehearsal-record';
import type { PitrRehearsalRecord } from './rehearsal-record';
import { planRecovery, withoutTail, type PitrPlan } from './window';

/** How long the rehearsal waits for the window to reach its point, beyond three seal intervals. */
const WINDOW_WAIT_MS = 60_000;

type PitrParts = Required<Pick<BackupStore, 'pitr' | 'recoverToPoint' | 'pitrRehearsal'>>;

/** Rehearses a restore to a point taken now; throws PITR.REHEARSAL_FAILED after recording and telling a failure. */
export async function rehearsePoint(ctx: RehearseDeps): Promise<PitrRehearsalRecord> {
  const { store, settings } = openTask(ctx);
  const { pitr, recoverToPoint, pitrRehearsal } = store;
  if (!pitr || !recoverToPoint || !pitrRehearsal || !settings.continuous)
    throw new AppError(
      'PITR.OFF',
      'misconfigured',
      'A rehearsal of a restore to a point needs continuous protection, and it is off (or not available with this executor).',
      { suggestion: 'Set continuous = true in the database_backup task (docs/pitr.md).' },
    );
  store.signingKey(); // the record is signed: without a usable key nothing is rehearsed
  const database = ctx.admin.databaseName;
  const waitMs = 3 * settings.continuous.sealIntervalMs + WINDOW_WAIT_MS;
  const result = await ctx.admin.tryWithLock(rehearsalLockName(database), async () => {
    const mark = await pitrRehearsal.countMark().catch((error: unknown) => {
      throw new AppError(
        'PITR.REHEARSAL_NOT_RUN',
        'conflict',
        `The rehearsal of a restore to a point did not run: ${describe(error)}`,
        { suggestion: 'Try again later (database-backup rehearse --pitr).', retryAfterSeconds: 60 },
      );
    });
    const parts = { pitr, recoverToPoint, pitrRehearsal };
    const record = await rehearseMark(ctx, parts, mark, waitMs);
    await pitrRehearsal.write(record).catch((error: unknown) => {
      ctx.logger.warn(`Could not write the PITR rehearsal record: ${describe(error)}`);
    });
    return record;
  });
  if (!result.acquired) throw rehearsalBusy(database);
  const record = result.value;
  if (!record.ok)
    throw new AppError(
      'PITR.REHEARSAL_FAILED',
      'failed',
      `The rehearsal of a restore to ${record.mark.at} failed: ${record.error ?? 'unknown reason'}`,
      {
        suggestion:
          'A restore to a point would probably fail or differ the same way: see the error and the server log.',
      },
    );
  return record;
}

async function rehearseMark(
  ctx: RehearseDeps,
  parts: PitrParts,
  mark: PitrCountMark,
  waitMs: number,
): Promise<PitrRehearsalRecord> {
  const database = ctx.admin.databaseName;
  const started = ctx.clock.now();
  const startedMs = ctx.clock.elapsedMs();
  const scratch = rehearsalScratchName(database, started);
  let plan: PitrPlan | null = null;
  let recoveredRows: Record<string, number> = {};
  const finish = (error: string | null): PitrRehearsalRecord => ({
    format: PITR_REHEARSAL_FORMAT,
    database,
    rehearsedAt: started.toISOString(),
    durationMs: Math.round(ctx.clock.elapsedMs() - startedMs),
    ok: error === null,
    mark,
    base: plan ? plan.base.file : null,
    segments: plan ? plan.segments.length : 0,
    recoveredRows,
    error: error?.slice(0, 2000) ?? null,
  });
  ctx.logger.info(
    `Rehearsing a restore to ${mark.at} (WAL ${mark.lsn}): the source's rows were counted there; recovering into '${scratch}'.`,
  );
  try {
    plan = await planWhenCovered(ctx, parts.pitr, mark.at, waitMs);
    await parts.recoverToPoint({
      plan,
      target: mark.at,
      targetLsn: mark.lsn,
      targetDatabase: scratch,
      locale: await ctx.admin.databaseLocale(),
      serverMajor: Number.parseInt(await ctx.admin.serverVersion(), 10),
    });
    const inspected = await ctx.admin.inspectRestored(scratch, Object.keys(mark.tableRows));
    recoveredRows = inspected.rowCounts;
    const differences = countDifferences(mark.tableRows, recoveredRows);
    if (differences) throw new Error(differences);
    const record = finish(null);
    const rows = Object.values(recoveredRows).reduce((a, b) => a + b, 0);
    ctx.metrics.pitrRehearsalSucceeded?.(ctx.clock.now());
    ctx.notifier?.resolved(
      `pitr_rehearsal_failed:${database}`,
      recoveredEvent('rehearsal_failed', database, `The rehearsal of a restore to ${mark.at} passed.`),
    );
    ctx.logger.info(
      `PITR rehearsal passed: restored to ${mark.at} from pitr/${record.base} and ${record.segments} WAL segment(s), ` +
        `${Object.keys(recoveredRows).length} tables, ${rows} rows as the source had them, in ${(record.durationMs / 1000).toFixed(1)} s.`,
    );
    return record;
  } catch (error) {
    const reason = describe(error);
    ctx.metrics.pitrRehearsalFailed?.();
    ctx.logger.error(`PITR rehearsal of a restore to ${mark.at} FAILED: ${reason}`);
    ctx.notifier?.problem(`pitr_rehearsal_failed:${database}`, {
      kind: 'rehearsal_failed',
      severity: 'critical',
      database,
      backup: plan ? `pitr/${plan.base.file}` : null,
      reason: `The rehearsal of a restore to the point ${mark.at} failed: ${reason}`,
      suggestion:
        'A restore to a point would probably fail or differ the same way: see the error; a new base backup (restart continuous protection) starts a fresh window.',
    });
    return finish(reason);
  } finally {
    await ctx.admin.dropDatabase(scratch).catch(() => {});
  }
}

/** Waits until the restorable window reaches `target`, then plans the recovery; a failure of the rehearsal if not. */
async function planWhenCovered(
  ctx: RehearseDeps,
  pitr: PitrParts['pitr'],
  target: string,
  waitMs: number,
): Promise<PitrPlan> {
  const deadline = ctx.clock.elapsedMs() + waitMs;
  for (;;) {
    // The sealed segments only: a tail can end exactly at the count mark's position (recovery to it would end before
    // reaching it), and what the rehearsal proves is what stays; the tail is replaced in seconds.
    const catalog = withoutTail(await pitr());
    if (catalog.window && catalog.window.latest >= target) {
      const plan = planRecovery(catalog, target);
      if ('refused' in plan) throw new Error(plan.refused);
      return plan;
    }
    if (ctx.clock.elapsedMs() >= deadline)
      throw new Error(
        `the restorable window did not reach the point within ${Math.round(waitMs / 1000)} s (${catalog.window ? `it ends at ${catalog.window.latest}` : 'there is none'}${catalog.problem ? `; ${catalog.problem}` : ''})`,
      );
    await ctx.clock.sleep(500);
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
