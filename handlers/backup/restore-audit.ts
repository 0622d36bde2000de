// What every restore (of a backup, or to a point in time) does around its work: the audit records of its steps, and,
// when it did not happen, the failure counted (a refusal is not one), logged and audited.
import { isAppError, sentenceOf as describe } from '../errors';
import type { BackupStore } from '../ports/backup-store';
import type { AuditRecord } from './model';
import type { RestoreDeps } from './restore-plan';

export type RestoreAudit = (
  outcome: AuditRecord['outcome'],
  file: string | null,
  message: string,
) => Promise<void>;

/** The audit trail of one restore or its dry run, requested by `user`. */
export function restoreAudit(
  ctx: Pick<RestoreDeps, 'clock' | 'logger'>,
  store: BackupStore,
  request: { user: string; dryRun: boolean },
): RestoreAudit {
  return async (outcome, file, message) => {
    const record: AuditRecord = {
      at: ctx.clock.now().toISOString(),
      action: request.dryRun ? 'restore-dry-run' : 'restore',
      outcome,
      user: request.user,
      trigger: 'manual',
      file,
      message,
    };
    // The audit trail must not turn a finished restore into a reported failure; the log still has it.
    await store.appendAudit(record).catch((error: unknown) => {
      ctx.logger.error(`Could not append to the backup audit log: ${describe(error)}`);
    });
  };
}

export interface RestoreFailure {
  dryRun: boolean;
  /** Who asked for what, as the log line names it: "Restore requested by 'alice'". */
  what: string;
  /** Audits the refusal or failure with the error's sentence. */
  audit: (outcome: 'refused' | 'failed', message: string) => Promise<void>;
  /** Whatever else a real failure (not a refusal, not a dry run) tells, after it is counted. */
  onFailed?: () => void;
}

/** A restore that did not happen: a real failure counted, then logged and audited; the caller rethrows the error. */
export async function recordRestoreFailure(
  ctx: Pick<RestoreDeps, 'metrics' | 'logger'>,
  error: unknown,
  failure: RestoreFailure,
): Promise<void> {
  const refused = isAppError(error) && error.kind !== 'failed';
  if (!failure.dryRun && !refused) {
    ctx.metrics.restoreFailed();
    failure.onFailed?.();
  }
  ctx.logger.error(`${failure.what} did not happen: ${describe(error)}`);
  await failure.audit(refused ? 'refused' : 'failed', describe(error));
}
