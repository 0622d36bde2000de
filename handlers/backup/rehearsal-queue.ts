// Background rehearsals of new backups (`rehearse = true`): one at a time in this process; a burst of backups
// rehearses only the newest.
import { isAppError } from '../errors';
import type { RehearsalQueue } from '../ports/rehearsal-queue';
import { rehearseBackup, type RehearseDeps } from './rehearse-backup';

export function createRehearsalQueue(ctx: RehearseDeps): RehearsalQueue {
  let pending: string | null = null;
  let current: string | null = null;
  let running: Promise<void> | null = null;
  const drain = async () => {
    while (pending !== null) {
      const file = pending;
      pending = null;
      current = file;
      await rehearseBackup({ file, user: null }, ctx).catch((error: unknown) => {
        if (isAppError(error) && error.code === 'BACKUP.REHEARSAL_FAILED') return; // logged by the rehearsal
        const message = `Rehearsal of backup '${file}' did not run: ${describe(error)}`;
        if (isAppError(error) && error.kind === 'conflict') ctx.logger.info(message);
        else ctx.logger.error(message);
      });
    }
  };
  return {
    enqueue(file) {
      if (file === current && pending === null) return; // being rehearsed right now
      pending = file;
      running ??= drain().finally(() => {
        running = null;
        current = null;
      });
    },
    idle: async () => {
      while (running) await running;
    },
  };
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
