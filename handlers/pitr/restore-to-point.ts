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
import type { BackupStore } from '../ports/backup-store';
import { identityMissing, planRecovery, type PitrCatalog, type PitrPlan, type PitrWindow } from './window';

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
  /** The files of the plan only in the off-site store (downloaded, or, in a dry run, to be downloaded). */
  download: PitrDownload | null;
}

export interface PitrDownload {
  location: string;
  files: number;
  bytes: number;
}

interface FoundPlan {
  catalog: PitrCatalog;
  plan: PitrPlan;
  download: PitrDownload | null;
  fetch: ReadonlySet<string> | undefined;
}

/**
 * The plan from the local PITR folder; when it cannot reach the target (a fresh server, a folder lost or cut short)
 * and an off-site store is set, from the folder and the store together, every manifest judged alike.
 */
async function findPlan(store: BackupStore, target: string): Promise<FoundPlan> {
  const catalog = await store.pitr!();
  const plan = planRecovery(catalog, target);
  if (!('refused' in plan)) return { catalog, plan, download: null, fetch: undefined };
  if (!store.pitrOffsite) throw outsideWindow(plan.refused, catalog.problem);
  const offsite = await store.pitrOffsite().catch((error: unknown) => {
    const why = error instanceof Error ? error.message : String(error);
    throw outsideWindow(`${plan.refused} The off-site store could not be read: ${why}`, catalog.problem);
  });
  const there = planRecovery(offsite.catalog, target);
  if ('refused' in there) throw outsideWindow(there.refused, offsite.catalog.problem);
  const wanted = [there.base, ...there.segments].filter((m) => offsite.remote.has(m.file));
  const download =
    wanted.length === 0
      ? null
      : {
          location: offsite.location,
          files: wanted.length,
          bytes: wanted.reduce((sum, m) => sum + m.sizeBytes, 0),
        };
  return { catalog: offsite.catalog, plan: there, download, fetch: new Set(wanted.map((m) => m.file)) };
}

/** The stored bytes of the plan's files: the base, the segments and the tail. */
const planBytes = (plan: PitrPlan) =>
  [plan.base, ...plan.segments, ...(plan.tail ? [plan.tail] : [])].reduce((sum, m) => sum + m.sizeBytes, 0);

const downloadPhrase = (d: PitrDownload | null, verb: string) =>
  d ? `; ${verb} ${d.files} file(s) (${d.bytes} bytes) from ${d.location}` : '';

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
    const recover = store.recoverToPoint;
    if (!store.pitr || !recover) throw pitrOff();
    return await withBackupLock(ctx.admin, async (lease) => {
      // The manifests first: signatures, the chain, the sizes; the bytes are hashed before the instance starts.
      const { catalog, plan, download, fetch } = await findPlan(store, target);
      // The dry run too: "it would be restored" only when this server can run the recovery.
      await store.checkRecoverPrograms?.(plan.base.serverMajor);
      requireIdentity(plan, settings.encryptionIdentityFile);
      await checkSwapPossible(ctx.admin);
      const window = catalog.window!;
      const result = {
        target,
        dryRun,
        base: `pitr/${plan.base.file}`,
        segments: plan.segments.length + (plan.tail ? 1 : 0),
        window,
        download,
      };
      const label = `base backup '${result.base}' and ${result.segments} WAL segment(s)${plan.tail ? ` (the last one the signed tail pitr/${plan.tail.file})` : ''}`;
      if (dryRun) {
        ctx.logger.info(
          `Dry run: the database would be restored to ${target} from ${label}${downloadPhrase(download, 'it would download')}; nothing was changed.`,
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
        sizeBytes: planBytes(plan),
        lease,
        recordIntent: (message) => audit('started', message),
        source: { via: 'file', reason: `point-in-time recovery to ${target}` },
        load: (scratch, at) =>
          recover({
            plan,
            ...(fetch ? { fetch } : {}),
            target,
            targetDatabase: scratch,
            locale: at.locale,
            serverMajor: at.serverMajor,
          }),
      };
      await replaceDatabase(ctx, restorePlan, hooks);
      ctx.metrics.restoreSucceeded();
      ctx.logger.info(
        `Restored database '${database}' to ${target} from ${label}${downloadPhrase(download, 'downloaded')} (requested by '${input.user}').`,
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

/** An encrypted plan needs encryption_identity_file: said before anything is done (in the dry run too). */
function requireIdentity(plan: PitrPlan, identityFile: string | undefined): void {
  const encrypted = [plan.base, ...plan.segments, ...(plan.tail ? [plan.tail] : [])].find(
    (m) => m.encryption,
  );
  if (!encrypted || identityFile) return;
  throw identityMissing(encrypted.file);
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
