// `completely-restore --to <time>`: the database as it was at that instant, from the base backup and WAL of continuous
// protection, swapped in through the complete restore's own irreversible half (writes refused on every replica, the
// scratch copy, the swap with its undoing, audit, migrations). The manifests are checked before anything else; a target
// outside the restorable window is refused and changes nothing.
import { AppError } from '../errors';
import type { AuditRecord } from '../backup/model';
import { openTask } from '../backup/deps';
import { withBackupLock } from '../backup/lock';
import { checkSwapPossible } from '../backup/restore-preflight';
import { replaceDatabase } from '../backup/replace-database';
import { recordRestoreFailure, restoreAudit } from '../backup/restore-audit';
import type { RestoreDeps, RestoreHooks, RestorePlan } from '../backup/restore-plan';
import { planRecovery, type PitrWindow } from './window';

export interface RestoreToPointInput {
  user: string;
  /** ISO 8601 (the route parses the admin's time). */
  to: string;
  dryRun?: boolean | undefined;
}

export interface RestoreToPointResult {
  target: string;
  dryRun: boolean;
  base: string; // the base backup's file, relative to the backup directory
  segments: number; // WAL segments replayed
  window: PitrWindow;
}

export async function restoreToPoint(
  input: RestoreToPointInput,
  ctx: RestoreDeps,
  hooks: RestoreHooks = {},
): Promise<RestoreToPointResult> {
  const task = openTask(ctx);
  const { settings, store } = task;
  const dryRun = input.dryRun === true;
  const target = input.to;
  const database = ctx.admin.databaseName;
  const audited = restoreAudit(ctx, store, { user: input.user, dryRun });
  const audit = (outcome: AuditRecord['outcome'], message: string) =>
    audited(outcome, `point ${target}`, message);
  ctx.logger.info(
    `${dryRun ? 'Dry run of a restore' : 'Restore'} of database '${database}' to ${target} requested by '${input.user}'.`,
  );
  try {
    const pitr = store.pitr;
    const recover = store.recoverToPoint;
    if (!pitr || !recover) throw pitrOff();
    return await withBackupLock(ctx.admin, async (lease) => {
      // The manifests first: signatures, the chain, the sizes; the bytes are hashed before the instance starts.
      const catalog = await pitr();
      const plan = planRecovery(catalog, target);
      if ('refused' in plan) throw outsideWindow(plan.refused, catalog.problem);
      await checkSwapPossible(ctx.admin);
      const window = catalog.window!;
      const result = {
        target,
        dryRun,
        base: `pitr/${plan.base.file}`,
        segments: plan.segments.length,
        window,
      };
      const label = `base backup '${result.base}' and ${plan.segments.length} WAL segment(s)`;
      if (dryRun) {
        ctx.logger.info(
          `Dry run: the database would be restored to ${target} from ${label}; nothing was changed.`,
        );
        await audit('succeeded', `A restore to ${target} is possible from ${label} (dry run).`);
        return result;
      }
      const restorePlan: RestorePlan = {
        store,
        file: `pitr/${plan.base.file}`,
        path: store.pathOf(`pitr/${plan.base.file}`),
        keepOld: settings.keepOldDatabase,
        allowNoAdmin: false, // a restore to a point never leaves the server without an admin
        allowUnsigned: false,
        sizeBytes: [plan.base, ...plan.segments].reduce((sum, m) => sum + m.sizeBytes, 0),
        lease,
        recordIntent: (message) => audit('started', message),
        source: { via: 'file', reason: `point-in-time recovery to ${target}` },
        load: (scratch, at) =>
          recover({ plan, target, targetDatabase: scratch, locale: at.locale, serverMajor: at.serverMajor }),
      };
      await replaceDatabase(ctx, restorePlan, hooks);
      ctx.metrics.restoreSucceeded();
      ctx.logger.info(
        `Restored database '${database}' to ${target} from ${label} (requested by '${input.user}').`,
      );
      await audit('succeeded', `Restored database '${database}' to ${target} from ${label}.`);
      return result;
    });
  } catch (error) {
    await recordRestoreFailure(ctx, error, {
      dryRun,
      what: `Restore to ${target} requested by '${input.user}'`,
      audit,
    });
    throw error;
  }
}

function pitrOff(): AppError {
  return new AppError(
    'PITR.OFF',
    'misconfigured',
    'A restore to a point in time needs continuous protection, and continuous is off.',
    {
      suggestion:
        'Set continuous = true in the database_backup task (docs/pitr.md); it covers times from then on.',
    },
  );
}

function outsideWindow(refused: string, problem: string | null): AppError {
  return new AppError(
    'PITR.OUTSIDE_WINDOW',
    'conflict',
    refused + (problem ? ` The window is cut short: ${problem}.` : ''),
    {
      suggestion: 'Nothing was changed. Pick a time inside the window that `database-backup list` shows.',
    },
  );
}
