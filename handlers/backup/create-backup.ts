// The backup use case: one signed dump of the server's database into the task's directory, then retention.
import { AppError, isAppError, sentenceOf } from '../errors';
import type { AuditRecord, BackupMetadata, BackupTrigger, CatalogEntry } from './model';
import type { BackupStore } from '../ports/backup-store';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import { openTask, type BackupDeps } from './deps';
import { describeManifest } from './describe-manifest';
import { formatBytes, formatDuration, formatMegabytes } from '../units';
import { withBackupLock } from './lock';
import { applyRetention, copyOffsite } from './after-backup';
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
      progress.phase('dumping');
      const entry = await dumpWithProgress(ctx, store, progress, sizeBytes, {
        options: { compression: settings.compression, encryptionRecipients: settings.encryptionRecipients },
        minSequence,
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
      await applyRetention(ctx, task, lease, database, progress);
      const warning = await copyOffsite(ctx, task, lease, database, progress);
      const warnings = warning ? [warning] : [];
      // In the background: the rehearsal takes its own lock, never the backup lock, so it blocks no backup.
      if (settings.rehearse) ctx.rehearsals?.enqueue(metadata.file);
      return { path, metadata, warnings };
    });
  } catch (error) {
    await reportFailure(ctx, input, error, file, audit);
    throw error;
  }
}

/**
 * The bytes pg_dump writes are about as many as the database holds: the guess of the bytes to come, given only once
 * the executor reports bytes at all (the sidecar does not): until then the bar is an honest indeterminate one.
 */
async function dumpWithProgress(
  ctx: Pick<CreateBackupDeps, 'stopping'>,
  store: BackupStore,
  progress: ProgressReporter,
  sizeBytes: number,
  request: Pick<Parameters<BackupStore['dump']>[0], 'options' | 'minSequence' | 'seed'>,
): Promise<CatalogEntry> {
  let dumped: number | null = null;
  const entry = await store.dump({
    onProgress: (bytes) => {
      if (dumped === null) progress.phase('dumping', sizeBytes);
      dumped = bytes;
      progress.bytes(bytes);
    },
    seed: request.seed,
    options: request.options,
    minSequence: request.minSequence,
    ...(ctx.stopping ? { signal: ctx.stopping } : {}),
  });
  // The database's size was a guess of the bytes to come; the dump is done, so its bar ends full, at the bytes
  // it really wrote (fewer than the guess when indexes are large, more when the guess was low).
  if (dumped !== null && dumped > 0) {
    progress.phase('dumping', dumped);
    progress.bytes(dumped);
  }
  return entry;
}

/** A refusal (busy: nothing is wrong; no space) or a failure: counted, told, audited. */
async function reportFailure(
  ctx: CreateBackupDeps,
  input: CreateBackupInput,
  error: unknown,
  file: string | null,
  audit: (outcome: AuditRecord['outcome'], message: string) => Promise<void>,
): Promise<void> {
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
