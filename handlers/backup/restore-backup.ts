// A complete restore that cannot lose the database: verify, restore into a scratch database, then swap it in.
import { isAppError, sentenceOf as describe } from '../errors';
import type { BackupMetadata, CatalogEntry, LoadCheck } from './model';
import { checkDownloadRoom, loadLine } from './dry-run-checks';
import type { BackupStore } from '../ports/backup-store';
import { openTask } from './deps';
import { describeManifest } from './describe-manifest';
import { assessChain } from './trust';
import { withBackupLock } from './lock';
import { checkSwapPossible } from './restore-preflight';
import { checkExpectNewestRequest, checkRequestedFileName, selectBackup } from './select-backup';
import { chooseRestoreSource, type RestoreSource } from './standby';
import { replaceDatabase } from './replace-database';
import { refuseNewerMajor } from './server-major';
import { refuseNearEmptyLatest, restorePreview, storeEntries, type RestorePreview } from './restore-preview';
import type { RestoreDeps, RestoreHooks, RestorePlan } from './restore-plan';
import { recordRestoreFailure, restoreAudit, type RestoreAudit } from './restore-audit';
import { checkSchemaKnown, verifyForRestore } from './restore-verify';
import type { OffsiteFetch } from '../offsite/model';

export type { RestoreDeps, RestoreHooks, RestorePhase } from './restore-plan';

export interface RestoreInput {
  user: string;
  file?: string | undefined;
  dryRun?: boolean | undefined;
  /** Restore a named file that is not trusted (legacy, unsigned, foreign) on purpose. */
  allowUnsigned?: boolean | undefined;
  /** Restore even if it leaves no approved admin with a valid key (there was one before). */
  allowNoAdmin?: boolean | undefined;
  /** "The latest" must be this backup (file name or signed sequence), else the restore is refused. */
  expectNewest?: string | undefined;
}

export interface RestoreResult {
  path: string;
  metadata: BackupMetadata;
  dryRun: boolean;
  /** Where the data came (or, in a dry run, would come) from: the rehearsed standby, or the file; and why. */
  source: { via: RestoreSource['via']; reason: string };
  /** A dry run: the backup, its signer, time, size and rows per table against the live database's. */
  preview?: RestorePreview;
  /** A dry run: the role the dump would load as and the grants to roles this server lacks. */
  load?: LoadCheck & { summary: string };
  /** A dry run whose backup is only in the store: the object a restore would download (nothing was downloaded). */
  offsite?: { location: string; bucket: string; key: string; directory: string };
}

export async function restoreBackup(
  input: RestoreInput,
  ctx: RestoreDeps,
  hooks: RestoreHooks = {},
): Promise<RestoreResult> {
  // One snapshot for the whole restore: a reload halfway changes neither the directory nor the executor.
  const task = openTask(ctx);
  const { settings, store } = task;
  // A bad name is refused before the lock: it says nothing about the state of the server.
  if (input.file !== undefined) checkRequestedFileName(input.file);
  checkExpectNewestRequest(input);
  const dryRun = input.dryRun === true;
  const database = ctx.admin.databaseName;

  const audit = restoreAudit(ctx, store, { user: input.user, dryRun });

  ctx.logger.info(
    `${dryRun ? 'Dry run of a restore' : 'Complete restore'} of database '${database}' requested by '${input.user}'.`,
  );
  let chosen: string | null = null;
  try {
    return await withBackupLock(ctx.admin, async (lease) => {
      const fetched = await ctx.offsite?.fetchForRestore(task, {
        database,
        file: input.file,
        dryRun,
        expectNewest: input.expectNewest,
      });
      if (dryRun && fetched && !fetched.downloaded) {
        chosen = fetched.file;
        return previewOffsiteOnly(ctx, store, fetched, audit);
      }
      const entries = await store.list();
      const recorded = await ctx.chain.newestSequence(database);
      const chain = assessChain(entries, database, recorded);
      const entry = selectBackup(entries, {
        database,
        file: input.file,
        allowUnsigned: input.allowUnsigned,
        chain,
        expectNewest: input.expectNewest,
      });
      chosen = entry.file;
      if (input.file === undefined)
        refuseNearEmptyLatest([...entries, ...(await storeEntries(ctx, task))], entry);
      const allowUnsigned = entry.state !== 'trusted';
      const signedVersion = entry.manifest?.serverVersion ?? entry.legacy?.serverVersion;
      refuseNewerMajor(entry.file, signedVersion, await ctx.admin.serverVersion());
      hooks.progress?.phase('verifying');
      const { metadata, load } = await verifyForRestore(ctx, store, entry, dryRun);
      await checkSwapPossible(ctx.admin);
      const source = await chooseRestoreSource(ctx, entry);
      if (dryRun) return previewRestore(ctx, entry, { metadata, load, source }, audit);
      const plan: RestorePlan = {
        store,
        file: entry.file,
        path: entry.path,
        keepOld: settings.keepOldDatabase,
        allowUnsigned,
        allowNoAdmin: input.allowNoAdmin === true,
        sizeBytes: metadata.sizeBytes,
        lease,
        recordIntent: (message) => audit('started', entry.file, message),
        source,
      };
      tellRestore(ctx, 'restore_started', input.user, entry.file, 'A complete restore started.');
      // In the outbox before writes are refused and sessions ended: otherwise its insert races the swap and is lost.
      await ctx.notifier?.queued?.();
      const via = await replaceDatabase(ctx, plan, hooks);
      await reportRestored(
        ctx,
        { user: input.user, entry, recorded, via, rehearse: settings.rehearse },
        audit,
      );
      return { path: entry.path, metadata, dryRun, source: via };
    });
  } catch (error) {
    await reportRestoreFailure(ctx, error, { user: input.user, dryRun, chosen }, audit);
    throw error;
  }
}

/** A dry run whose backup is only in the store: checked from its manifest, nothing downloaded. */
async function previewOffsiteOnly(
  ctx: RestoreDeps,
  store: BackupStore,
  fetched: OffsiteFetch,
  audit: RestoreAudit,
): Promise<RestoreResult> {
  const { directory } = store;
  // Its manifest was checked against the trusted keys; its bytes are checked on the real restore's download.
  const metadata = describeManifest(fetched.manifest);
  const path = store.pathOf(fetched.file);
  checkSchemaKnown(ctx, metadata, path);
  refuseNewerMajor(fetched.file, metadata.serverVersion, await ctx.admin.serverVersion());
  await checkSwapPossible(ctx.admin);
  await checkDownloadRoom(store, fetched.file, metadata.sizeBytes);
  const { location, bucket, key } = fetched;
  ctx.logger.info(
    `Dry run: backup '${fetched.file}' is only in ${location}; a restore would download it (object '${key}' in bucket '${bucket}') into '${directory}', verify it and restore it; nothing was changed.`,
  );
  await audit(
    'succeeded',
    fetched.file,
    `Backup is only off-site (${location}); a restore would download and restore it (dry run).`,
  );
  const source = {
    via: 'file' as const,
    reason: 'the backup is only off-site, so it is downloaded first',
  };
  const preview = restorePreview(
    {
      file: fetched.file,
      path,
      sizeBytes: metadata.sizeBytes,
      state: 'trusted',
      reason: null,
      manifest: fetched.manifest,
      legacy: null,
    },
    await liveRows(ctx),
  );
  return { path, metadata, dryRun: true, source, preview, offsite: { location, bucket, key, directory } };
}

/** A dry run: the backup verifies; what a restore would load, from where, against the live rows. */
async function previewRestore(
  ctx: RestoreDeps,
  entry: CatalogEntry,
  checked: { metadata: BackupMetadata; load: LoadCheck | undefined; source: RestoreSource },
  audit: RestoreAudit,
): Promise<RestoreResult> {
  const { metadata, load, source } = checked;
  ctx.logger.info(
    `Dry run: backup '${entry.path}' verifies and would be restored; nothing was changed. ` +
      `It would be restored from ${source.via === 'standby' ? 'the standby database' : 'the file'}: ${source.reason}` +
      (load ? ` ${loadLine(load)}` : ''),
  );
  await audit('succeeded', entry.file, `Backup verifies and would be restored (dry run).`);
  const preview = restorePreview(entry, await liveRows(ctx));
  return {
    path: entry.path,
    metadata,
    dryRun: true,
    source: { via: source.via, reason: source.reason },
    preview,
    ...(load ? { load: { ...load, summary: loadLine(load) } } : {}),
  };
}

/** After the swap: the chain record kept, the restore counted, told, logged and audited; the standby rebuilt. */
async function reportRestored(
  ctx: RestoreDeps,
  done: {
    user: string;
    entry: CatalogEntry;
    recorded: number;
    via: { via: RestoreSource['via']; reason: string };
    rehearse: boolean | undefined;
  },
  audit: RestoreAudit,
): Promise<void> {
  const { user, entry, recorded, via, rehearse } = done;
  const database = ctx.admin.databaseName;
  // The restored database carries the chain record of its backup's time: the newest sequence must survive it.
  await ctx.chain
    .record(database, recorded)
    .catch((error: unknown) =>
      ctx.logger.warn(`Could not record the backup sequence after the restore: ${describe(error)}`),
    );
  ctx.metrics.restoreSucceeded();
  tellRestore(ctx, 'restore_succeeded', user, entry.file, `Restored database '${database}' from the backup.`);
  ctx.logger.info(
    `Restored database '${database}' from backup '${entry.path}' (requested by '${user}'${via.via === 'standby' ? ', swapped in from the rehearsed standby' : ''}).`,
  );
  await audit(
    'succeeded',
    entry.file,
    `Restored database '${database}' from backup${via.via === 'standby' ? ' (its rehearsed standby swapped in)' : ''}.`,
  );
  // The standby became the database: rebuild it from the same backup in the background.
  if (via.via === 'standby' && rehearse) ctx.rehearsals?.enqueue(entry.file);
}

async function reportRestoreFailure(
  ctx: RestoreDeps,
  error: unknown,
  request: { user: string; dryRun: boolean; chosen: string | null },
  audit: RestoreAudit,
): Promise<void> {
  const { user, dryRun, chosen } = request;
  const named = isAppError(error) ? error.details?.file : undefined;
  await recordRestoreFailure(ctx, error, {
    dryRun,
    what: `Restore requested by '${user}'`,
    audit: (outcome, message) =>
      audit(outcome, chosen ?? (typeof named === 'string' ? named : null), message),
    onFailed: () =>
      tellRestore(
        ctx,
        'restore_failed',
        user,
        chosen,
        `The restore did not happen: ${describe(error)}`,
        error,
      ),
  });
}

/** The live database's rows per table for a preview; null (said as unknown) when they cannot be read. */
async function liveRows(ctx: RestoreDeps): Promise<Record<string, number> | null> {
  return ctx.admin.liveRowCounts().catch((error: unknown) => {
    ctx.logger.warn(`Could not count the live database's rows for the preview: ${describe(error)}`);
    return null;
  });
}

function tellRestore(
  ctx: RestoreDeps,
  kind: 'restore_started' | 'restore_succeeded' | 'restore_failed',
  user: string,
  file: string | null,
  reason: string,
  error?: unknown,
): void {
  ctx.notifier?.event({
    kind,
    severity: kind === 'restore_failed' ? 'critical' : 'warning',
    database: ctx.admin.databaseName,
    backup: file,
    reason,
    suggestion: isAppError(error) ? (error.suggestion ?? null) : null,
    user,
  });
}
