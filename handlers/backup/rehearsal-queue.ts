// Background rehearsals of new backups (`rehearse = true`): one at a time in this process; a burst of backups
// rehearses only the newest.
import { isAppError } from '../errors';
import type { RehearsalQueue } from '../ports/rehearsal-queue';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import { openTask, type BackupDeps } from './deps';
import { rehearseBackup, type RehearseDeps } from './rehearse-backup';

/** What the queue remembers of rehearsals that did not run, for `create --wait-rehearsal`; the oldest go first. */
const REMEMBERED = 20;

export function createRehearsalQueue(ctx: RehearseDeps): RehearsalQueue {
  let pending: string | null = null;
  let current: string | null = null;
  let running: Promise<void> | null = null;
  const skipped = new Map<string, string>();
  const remember = (file: string, why: string) => {
    skipped.set(file, why);
    for (const old of skipped.keys()) if (skipped.size > REMEMBERED) skipped.delete(old);
  };
  const drain = async () => {
    while (pending !== null) {
      const file = pending;
      pending = null;
      current = file;
      await rehearseBackup({ file, user: null }, ctx).catch((error: unknown) => {
        if (isAppError(error) && error.code === 'BACKUP.REHEARSAL_FAILED') return; // logged by the rehearsal
        remember(file, describe(error));
        const message = `Rehearsal of backup '${file}' did not run: ${describe(error)}`;
        if (isAppError(error) && error.kind === 'conflict') ctx.logger.info(message);
        else ctx.logger.error(message);
      });
    }
  };
  return {
    enqueue(file) {
      if (file === current && pending === null) return; // being rehearsed right now
      if (pending !== null && pending !== file)
        remember(
          pending,
          `a newer backup ('${file}') was queued after it, and a burst rehearses only the newest.`,
        );
      skipped.delete(file);
      pending = file;
      running ??= drain().finally(() => {
        running = null;
        current = null;
      });
    },
    idle: async () => {
      while (running) await running;
    },
    notRun: (file) => skipped.get(file) ?? null,
  };
}

/**
 * `database-backup create --wait-rehearsal`: waits for the background rehearsal of the new backup and answers the
 * warning the client prints after its success line when that rehearsal did not pass (null when it passed).
 */
export async function awaitRehearsal(
  ctx: Pick<BackupDeps, 'task' | 'rehearsals'>,
  file: string,
  progress: ProgressReporter = NO_PROGRESS,
): Promise<string | null> {
  const task = openTask(ctx);
  if (!task.settings.rehearse || !ctx.rehearsals)
    return 'No rehearsal was queued: `rehearse` is off for the database_backup task, so --wait-rehearsal waited for nothing.';
  progress.phase('rehearsing');
  await ctx.rehearsals.idle();
  const skipped = ctx.rehearsals.notRun(file);
  if (skipped !== null) return `The rehearsal of this backup did not run: ${skipped}`;
  const rehearsal = (await task.store.list()).find((e) => e.file === file)?.rehearsal;
  if (!rehearsal) return "The rehearsal of this backup left no record: the server's log says why.";
  if (rehearsal.state === 'untrusted')
    return `The rehearsal record of this backup is not trusted: ${rehearsal.reason}`;
  if (!rehearsal.record.ok)
    return `The rehearsal of this backup failed: ${rehearsal.record.error ?? 'no reason was recorded'}`;
  return null;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
