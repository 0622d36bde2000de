// The backup use case: one verified dump of the server's database into the task's directory, then retention.
import { AppError, backupTaskNotConfigured, isAppError } from '../errors';
import type { AuditRecord, BackupMetadata, BackupTrigger, Executor } from '../ports';
import type { BackupContext } from './context';
import { formatBytes, formatDuration, formatMegabytes } from './format';
import { withBackupLock } from './lock';
import { backupFileName, parseBackupFileName } from './naming';
import { applyRetention } from './retention';

export interface CreateBackupInput {
  trigger: BackupTrigger;
  user: string | null; // who asked; null for scheduled runs
}

export interface CreateBackupResult {
  path: string; // absolute path of the dump on the server (or in the sidecar's volume)
  metadata: BackupMetadata;
}

/** Throws BACKUP.TASK_NOT_CONFIGURED, BACKUP.BUSY, BACKUP.INSUFFICIENT_SPACE, BACKUP.VERIFY_FAILED or the executor's errors. */
export async function createBackup(
  input: CreateBackupInput,
  ctx: BackupContext,
): Promise<CreateBackupResult> {
  const settings = ctx.settings();
  if (!settings) throw backupTaskNotConfigured();
  const { directory } = settings;
  const executor = ctx.executor();
  let file: string | null = null;
  const audit = (outcome: AuditRecord['outcome'], message: string) =>
    recordAudit(executor, directory, ctx, {
      action: 'backup',
      outcome,
      user: input.user,
      trigger: input.trigger,
      file,
      message,
    });

  try {
    return await withBackupLock(ctx.admin, async () => {
      const startedAt = ctx.clock.now();
      const requestedBy = input.user ? `, requested by ${input.user}` : '';
      ctx.logger.info(`Starting database backup (${input.trigger}${requestedBy}) into ${directory}`);

      await ensureFreeSpace(executor, directory, await ctx.admin.databaseSizeBytes());
      const existing = (await executor.list(directory)).map((e) => e.file);
      file = backupFileName(ctx.admin.databaseName, startedAt, withFreedSequences(existing));
      const metadata = await executor.dump({
        directory,
        file,
        seed: {
          format: 'bomnipotent-backup/1',
          database: ctx.admin.databaseName,
          serverVersion: await ctx.admin.serverVersion(),
          schemaVersion: await ctx.admin.schemaVersion(),
          appVersion: ctx.appVersion,
          startedAt: startedAt.toISOString(),
          trigger: input.trigger,
          user: input.user,
        },
      });
      if (settings.verifyAfterBackup) await verifyOrDiscard(executor, directory, file);

      const path = joinPath(directory, file);
      const durationMs = ctx.clock.now().getTime() - startedAt.getTime();
      ctx.metrics.backupSucceeded(metadata);
      ctx.logger.info(
        `Stored database backup ${path} (${formatBytes(metadata.sizeBytes)}, ${formatDuration(durationMs)})`,
      );
      await audit('succeeded', `Stored ${formatBytes(metadata.sizeBytes)} in ${formatDuration(durationMs)}.`);
      // Retention only after a backup that succeeded, so that a failing task never eats into the good ones.
      await applyRetention({
        executor,
        directory,
        database: ctx.admin.databaseName,
        keep: settings.keep,
        logger: ctx.logger,
      }).catch((error: unknown) =>
        ctx.logger.warn(
          `Retention after the backup failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
      await ctx.offsite?.copy(); // never throws: a store problem leaves the local backup standing
      return { path, metadata };
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (isAppError(error) && error.code === 'BACKUP.BUSY') {
      // Someone else is backing up or restoring: nothing is wrong with the backups, so no failure is counted.
      ctx.logger.warn(`Database backup (${input.trigger}) not started: ${message}`);
      await audit('refused', message);
    } else if (isAppError(error) && error.code === 'BACKUP.INSUFFICIENT_SPACE') {
      ctx.metrics.backupFailed(input.trigger);
      ctx.logger.error(`Database backup (${input.trigger}) refused: ${message}`);
      await audit('refused', message);
    } else {
      ctx.metrics.backupFailed(input.trigger);
      ctx.logger.error(`Database backup (${input.trigger}) failed: ${message}`);
      await audit('failed', message);
    }
    throw error;
  }
}

/** A plain dump is about as large as the database (indexes are not dumped, text is not compressed): refuse early. */
async function ensureFreeSpace(executor: Executor, directory: string, neededBytes: number): Promise<void> {
  const freeBytes = await executor.freeBytes(directory);
  if (freeBytes >= neededBytes) return;
  throw new AppError(
    'BACKUP.INSUFFICIENT_SPACE',
    'failed',
    `Not enough free space for a backup in ${directory}: ${formatMegabytes(freeBytes)} free, about ${formatMegabytes(neededBytes)} needed (the database's size).`,
    {
      suggestion:
        'Free space on that volume, keep fewer backups (`keep` in the database_backup task), or point `directory` at a larger volume.',
      details: { freeBytes, neededBytes },
    },
  );
}

async function verifyOrDiscard(executor: Executor, directory: string, file: string): Promise<void> {
  const verification = await executor.verify(directory, file);
  if (verification.ok) return;
  await executor.remove(directory, file).catch(() => {}); // a file that fails its own check must not be picked as "latest"
  throw new AppError(
    'BACKUP.VERIFY_FAILED',
    'failed',
    `The new backup ${file} failed verification: ${verification.reason}. It was removed.`,
    {
      suggestion: 'Check the disk and the server log, then try again.',
    },
  );
}

async function recordAudit(
  executor: Executor,
  directory: string,
  ctx: BackupContext,
  record: Omit<AuditRecord, 'at'>,
): Promise<void> {
  try {
    await executor.appendAudit(directory, { at: ctx.clock.now().toISOString(), ...record });
  } catch (error) {
    // The audit trail must not turn a good backup into a failure, nor hide the original error.
    ctx.logger.warn(
      `Could not append to the backup audit log: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * The existing names plus every lower sequence of the same second: retention may have removed `x.dump` while
 * `x_2.dump` stays, and a new dump reusing `x.dump` would sort before the older one (and be the next to go).
 */
function withFreedSequences(existing: readonly string[]): string[] {
  const names = new Set(existing);
  for (const name of existing) {
    const parsed = parseBackupFileName(name);
    if (!parsed) continue;
    const base = name.replace(/(_\d+)?\.dump$/, '');
    for (let n = 1; n < parsed.sequence; n += 1) names.add(n === 1 ? `${base}.dump` : `${base}_${n}.dump`);
  }
  return [...names];
}

/** Backup directories are POSIX paths on the server or in the sidecar; handlers have no node:path. */
export function joinPath(directory: string, file: string): string {
  return directory.endsWith('/') ? `${directory}${file}` : `${directory}/${file}`;
}
