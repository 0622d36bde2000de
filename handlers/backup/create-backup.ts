// The backup use case: one signed dump of the server's database into the task's directory, then retention.
import { AppError, backupTaskNotConfigured, isAppError } from '../errors';
import type { AuditRecord, BackupMetadata, BackupTrigger } from './model';
import type { Executor } from '../ports/executor';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import type { BackupContext } from './context';
import { describeManifest } from './describe-manifest';
import { formatBytes, formatDuration, formatMegabytes } from '../units';
import { ensureLockHeld, withBackupLock } from './lock';
import type { BackupTaskSettings } from './settings';
import { trustPolicy } from './trust';

export interface CreateBackupInput {
  trigger: BackupTrigger;
  user: string | null; // who asked; null for scheduled runs
}

export interface CreateBackupResult {
  path: string; // absolute path of the dump on the server (or in the sidecar's volume)
  metadata: BackupMetadata;
}

/** Throws BACKUP.TASK_NOT_CONFIGURED, BACKUP.BUSY, BACKUP.INSUFFICIENT_SPACE, BACKUP.VERIFICATION_FAILED or the executor's errors. */
export async function createBackup(
  input: CreateBackupInput,
  ctx: BackupContext,
  run: { progress?: ProgressReporter } = {},
): Promise<CreateBackupResult> {
  const progress = run.progress ?? NO_PROGRESS;
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
    return await withBackupLock(ctx.admin, async (lease) => {
      const startedAt = ctx.clock.now();
      const requestedBy = input.user ? `, requested by ${input.user}` : '';
      ctx.logger.info(`Starting database backup (${input.trigger}${requestedBy}) into ${directory}`);
      // Refused, never written unsigned: without a usable key nothing is dumped.
      const signer = ctx.signer();
      const database = ctx.admin.databaseName;
      progress.phase('checking free space');
      const sizeBytes = await ctx.admin.databaseSizeBytes();
      // A compressed dump of text-heavy data is a fraction of the database; half of it is a safe guess.
      await ensureFreeSpace(
        executor,
        directory,
        settings.compression === 'none' ? sizeBytes : Math.ceil(sizeBytes / 2),
      );
      const minSequence = (await ctx.chain.newestSequence(database)) + 1;
      // The bytes pg_dump writes are about as many as the database holds: the best guess of the bytes to come.
      progress.phase('dumping', sizeBytes);
      const entry = await executor.dump({
        directory,
        onProgress: (bytes) => progress.bytes(bytes),
        seed: {
          format: 'bomnipotent-backup/2',
          database,
          serverVersion: await ctx.admin.serverVersion(),
          schemaVersion: await ctx.admin.schemaVersion(),
          appVersion: ctx.appVersion,
          startedAt: startedAt.toISOString(),
          trigger: input.trigger,
          user: input.user,
        },
        options: { compression: settings.compression, encryptionRecipients: settings.encryptionRecipients },
        minSequence,
        signer,
      });
      file = entry.file;
      if (!entry.manifest) throw new Error(`the executor returned ${entry.file} without its manifest`);
      const metadata = describeManifest(entry.manifest);
      await ctx.chain
        .record(database, entry.manifest.sequence)
        .catch((error: unknown) =>
          ctx.logger.warn(
            `Could not record backup sequence ${entry.manifest?.sequence} in the database: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      if (settings.verifyAfterBackup) {
        progress.phase('verifying');
        await verifyOrDiscard(ctx, executor, settings, entry.file, signer.publicKey);
      }

      const path = entry.path;
      const durationMs = ctx.clock.now().getTime() - startedAt.getTime();
      ctx.metrics.backupSucceeded(metadata);
      ctx.logger.info(
        `Stored database backup ${path} (${formatBytes(metadata.sizeBytes)}, ${formatDuration(durationMs)})`,
      );
      await audit('succeeded', `Stored ${formatBytes(metadata.sizeBytes)} in ${formatDuration(durationMs)}.`);
      // Retention only after a backup that succeeded, so that a failing task never eats into the good ones.
      if (settings.keep !== null) {
        const keep = settings.keep;
        progress.phase('applying retention');
        // Deletes are irreversible: only while the lock is still ours (another replica may be mid-backup otherwise).
        await ensureLockHeld(lease, database, 'the removal of old backups (retention)')
          .then(() => executor.prune({ directory, database, keep, trust: trustPolicy(ctx, settings) }))
          .then((result) => {
            for (const removed of result.removed)
              ctx.logger.info(`Removed old database backup ${removed} (keep = ${keep}).`);
          })
          .catch((error: unknown) =>
            ctx.logger.warn(
              `Retention after the backup failed: ${error instanceof Error ? error.message : String(error)}`,
            ),
          );
      }
      if (ctx.offsite) {
        const offsite = ctx.offsite;
        progress.phase('copying off-site');
        // The copy ends with off-site retention (deletes): like local retention, only while the lock is ours.
        // copy() itself never throws: a store problem leaves the local backup standing.
        await ensureLockHeld(lease, database, 'the off-site copy and its retention')
          .then(() => offsite.copy())
          .catch((error: unknown) =>
            ctx.logger.warn(
              `Off-site copy after the backup skipped: ${error instanceof Error ? error.message : String(error)}`,
            ),
          );
      }
      // In the background: the rehearsal takes its own lock, never the backup lock, so it blocks no backup.
      if (settings.rehearse) ctx.rehearsals?.enqueue(metadata.file);
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

/** A plain dump is about as large as the database (indexes are not dumped): refuse early. */
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

async function verifyOrDiscard(
  ctx: BackupContext,
  executor: Executor,
  settings: BackupTaskSettings,
  file: string,
  publicKey: string,
): Promise<void> {
  if (settings.encryptionRecipients.length > 0 && !settings.encryptionIdentityFile) {
    ctx.logger.warn(
      `verify_after_backup: ${file} is encrypted and no encryption_identity_file is set, so only its size was checked.`,
    );
    return;
  }
  const verification = await executor.verify(settings.directory, file, {
    trustedKeys: [publicKey],
    identityFile: settings.encryptionIdentityFile,
  });
  if (verification.ok) return;
  await executor.remove(settings.directory, file).catch(() => {}); // a file that fails its own check must not be picked as "latest"
  throw new AppError(
    'BACKUP.VERIFICATION_FAILED',
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

/** Backup directories are POSIX paths on the server or in the sidecar; handlers have no node:path. */
export function joinPath(directory: string, file: string): string {
  return directory.endsWith('/') ? `${directory}${file}` : `${directory}/${file}`;
}
