// The backup use case: one signed dump of the server's database into the task's directory, then retention.
import { AppError, isAppError, sentenceOf } from '../errors';
import type { AuditRecord, BackupMetadata, BackupTrigger } from './model';
import type { BackupStore } from '../ports/backup-store';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import { openTask, type BackupDeps } from './deps';
import { describeManifest } from './describe-manifest';
import { formatBytes, formatDuration, formatMegabytes } from '../units';
import { ensureLockHeld, withBackupLock } from './lock';
import type { BackupTaskSettings } from './settings';

/** What a backup takes: the task's snapshot, the database, the chain record, and what it reports to. */
export type CreateBackupDeps = Pick<
  BackupDeps,
  | 'task'
  | 'admin'
  | 'chain'
  | 'metrics'
  | 'clock'
  | 'logger'
  | 'appVersion'
  | 'offsite'
  | 'rehearsals'
  | 'notifier'
  | 'stopping'
>;

export interface CreateBackupInput {
  trigger: BackupTrigger;
  user: string | null; // who asked; null for scheduled runs
}

export interface CreateBackupResult {
  path: string; // absolute path of the dump on the server (or in the sidecar's volume)
  metadata: BackupMetadata;
  /** The backup is stored, but something after it did not happen (its off-site copy failed or was skipped). */
  warnings: string[];
}

/** Throws BACKUP.TASK_NOT_CONFIGURED, BACKUP.BUSY, BACKUP.INSUFFICIENT_SPACE, BACKUP.VERIFICATION_FAILED or the executor's errors. */
export async function createBackup(
  input: CreateBackupInput,
  ctx: CreateBackupDeps,
  run: { progress?: ProgressReporter } = {},
): Promise<CreateBackupResult> {
  const progress = run.progress ?? NO_PROGRESS;
  const task = openTask(ctx);
  const { settings, store } = task;
  const { directory } = store;
  let file: string | null = null;
  const audit = (outcome: AuditRecord['outcome'], message: string) =>
    recordAudit(store, ctx, {
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
      ctx.notifier?.heartbeat('start', null);
      // Refused, never written unsigned: without a usable key nothing is dumped.
      store.signingKey();
      const database = ctx.admin.databaseName;
      progress.phase('checking free space');
      const sizeBytes = await ctx.admin.databaseSizeBytes();
      // A compressed dump of text-heavy data is a fraction of the database; half of it is a safe guess.
      await ensureFreeSpace(store, settings.compression === 'none' ? sizeBytes : Math.ceil(sizeBytes / 2));
      const minSequence = (await ctx.chain.newestSequence(database)) + 1;
      // The bytes pg_dump writes are about as many as the database holds: the guess of the bytes to come, given only
      // once the executor reports bytes at all (the sidecar does not): until then the bar is an honest indeterminate one.
      progress.phase('dumping');
      let dumped: number | null = null;
      const entry = await store.dump({
        onProgress: (bytes) => {
          if (dumped === null) progress.phase('dumping', sizeBytes);
          dumped = bytes;
          progress.bytes(bytes);
        },
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
        ...(ctx.stopping ? { signal: ctx.stopping } : {}),
      });
      file = entry.file;
      // The database's size was a guess of the bytes to come; the dump is done, so its bar ends full, at the bytes
      // it really wrote (fewer than the guess when indexes are large, more when the guess was low).
      if (dumped !== null && dumped > 0) {
        progress.phase('dumping', dumped);
        progress.bytes(dumped);
      }
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
        await verifyOrDiscard(ctx, store, settings, entry.file);
      }

      const path = entry.path;
      const durationMs = ctx.clock.now().getTime() - startedAt.getTime();
      ctx.metrics.backupSucceeded(metadata);
      tellRecovered(ctx, metadata.file, input.user);
      // With rehearsals on, the outside monitor hears "success" once the backup is proven (rehearse-backup.ts).
      if (!settings.rehearse) ctx.notifier?.heartbeat('success', null);
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
          .then(() => store.prune({ database, keep }))
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
      const warnings: string[] = [];
      if (ctx.offsite) {
        const offsite = ctx.offsite;
        progress.phase('copying off-site');
        // The copy ends with off-site retention (deletes): like local retention, only while the lock is ours.
        // copy() itself never throws: a store problem leaves the local backup standing.
        const warning = await ensureLockHeld(lease, database, 'the off-site copy and its retention')
          .then(() => offsite.copy(task))
          .then((report) =>
            report?.failure
              ? `The off-site copy failed; the backup is kept locally and copied on the next run: ${report.failure}`
              : null,
          )
          .catch((error: unknown) => {
            const reason = error instanceof Error ? error.message : String(error);
            ctx.logger.warn(`Off-site copy after the backup skipped: ${reason}`);
            return `The off-site copy after the backup was skipped: ${reason}`;
          });
        if (warning) warnings.push(warning);
      }
      // In the background: the rehearsal takes its own lock, never the backup lock, so it blocks no backup.
      if (settings.rehearse) ctx.rehearsals?.enqueue(metadata.file);
      return { path, metadata, warnings };
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
      tellFailed(ctx, 'disk_space', error, file, input.user);
      await audit('refused', message);
    } else {
      ctx.metrics.backupFailed(input.trigger);
      ctx.logger.error(`Database backup (${input.trigger}) failed: ${message}`);
      tellFailed(ctx, 'backup_failed', error, file, input.user);
      await audit('failed', message);
    }
    throw error;
  }
}

const FAILURES = ['backup_failed', 'disk_space'] as const;

function tellFailed(
  ctx: CreateBackupDeps,
  kind: (typeof FAILURES)[number],
  error: unknown,
  file: string | null,
  user: string | null,
): void {
  const database = ctx.admin.databaseName;
  ctx.notifier?.heartbeat('fail', sentenceOf(error));
  ctx.notifier?.problem(`${kind}:${database}`, {
    kind,
    severity: 'critical',
    database,
    backup: file,
    reason: `The backup ${kind === 'disk_space' ? 'was refused' : 'failed'}: ${sentenceOf(error)}`,
    suggestion: isAppError(error) ? (error.suggestion ?? null) : null,
    user,
  });
}

/** A good backup ends a run of failures (and a disk-space refusal): "recovered" to whoever was told. */
function tellRecovered(ctx: CreateBackupDeps, file: string, user: string | null): void {
  const database = ctx.admin.databaseName;
  for (const kind of FAILURES) {
    ctx.notifier?.resolved(`${kind}:${database}`, {
      kind,
      severity: 'info',
      database,
      backup: file,
      reason: `A backup succeeded again: ${file}.`,
      suggestion: null,
      user,
    });
  }
}

/** A plain dump is about as large as the database (indexes are not dumped): refuse early. */
async function ensureFreeSpace(store: BackupStore, neededBytes: number): Promise<void> {
  const { directory } = store;
  const freeBytes = await store.freeBytes();
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
  ctx: Pick<BackupDeps, 'logger'>,
  store: BackupStore,
  settings: BackupTaskSettings,
  file: string,
): Promise<void> {
  if (settings.encryptionRecipients.length > 0 && !settings.encryptionIdentityFile) {
    ctx.logger.warn(
      `verify_after_backup: ${file} is encrypted and no encryption_identity_file is set, so only its size was checked.`,
    );
    return;
  }
  const verification = await store.verify(file, { ownKeyOnly: true });
  if (verification.ok) return;
  await store.remove(file).catch(() => {}); // a file that fails its own check must not be picked as "latest"
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
  store: BackupStore,
  ctx: Pick<BackupDeps, 'clock' | 'logger'>,
  record: Omit<AuditRecord, 'at'>,
): Promise<void> {
  try {
    await store.appendAudit({ at: ctx.clock.now().toISOString(), ...record });
  } catch (error) {
    // The audit trail must not turn a good backup into a failure, nor hide the original error.
    ctx.logger.warn(
      `Could not append to the backup audit log: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
