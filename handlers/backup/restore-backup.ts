// A complete restore that cannot lose the database: verify, restore into a scratch database, then swap it in.
import { AppError, isAppError } from '../errors';
import type { AuditRecord, BackupMetadata, CatalogEntry } from './model';
import type { BackupStore } from '../ports/backup-store';
import type { Clock } from '../ports/clock';
import { openTask, type BackupDeps } from './deps';
import type { LockLease } from '../ports/database-admin';
import { describeManifest } from './describe-manifest';
import { assessChain } from './trust';
import { backupLockName, ensureLockHeld, withBackupLock } from './lock';
import { checkSwapPossible } from './restore-preflight';
import { checkRequestedFileName, selectBackup } from './select-backup';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import { chooseRestoreSource, takeStandby, type RestoreSource } from './standby';
import { restoreDatabaseNames } from './database-names';

/** What a restore takes: the task's snapshot, the database, its copies and its pool, the gate, and what it reports to. */
export type RestoreDeps = Pick<
  BackupDeps,
  | 'task'
  | 'admin'
  | 'chain'
  | 'lifecycle'
  | 'maintenance'
  | 'metrics'
  | 'clock'
  | 'logger'
  | 'offsite'
  | 'rehearsals'
>;

export interface RestoreInput {
  user: string;
  file?: string | undefined;
  dryRun?: boolean | undefined;
  /** Restore a named file that is not trusted (legacy, unsigned, foreign) on purpose. */
  allowUnsigned?: boolean | undefined;
}

export interface RestoreResult {
  path: string;
  metadata: BackupMetadata;
  dryRun: boolean;
  /** Where the data came (or, in a dry run, would come) from: the rehearsed standby, or the file; and why. */
  source: { via: RestoreSource['via']; reason: string };
  /** A dry run whose backup is only in the store: the object a restore would download (nothing was downloaded). */
  offsite?: { location: string; bucket: string; key: string; directory: string };
}

/** Points where a test can stop the restore (e.g. to kill the process there); the server passes no hooks. */
export type RestorePhase = 'scratch' | 'swap' | 'swapped';

export interface RestoreHooks {
  reached?(phase: RestorePhase): Promise<void>;
  /** Where the restore reports how far it got (a long operation's record); optional. */
  progress?: ProgressReporter | undefined;
}

const WRITES_SETTLE_MS = 30_000; // how long a restore waits for writes that started before read-only

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
  const dryRun = input.dryRun === true;
  const { directory } = store;
  const database = ctx.admin.databaseName;

  const audit = async (outcome: AuditRecord['outcome'], file: string | null, message: string) => {
    const record: AuditRecord = {
      at: ctx.clock.now().toISOString(),
      action: dryRun ? 'restore-dry-run' : 'restore',
      outcome,
      user: input.user,
      trigger: 'manual',
      file,
      message,
    };
    // The audit trail must not turn a finished restore into a reported failure; the log still has it.
    await store.appendAudit(record).catch((error: unknown) => {
      ctx.logger.error(`Could not append to the backup audit log: ${describe(error)}`);
    });
  };

  ctx.logger.info(
    `${dryRun ? 'Dry run of a restore' : 'Complete restore'} of database '${database}' requested by '${input.user}'.`,
  );
  let chosen: string | null = null;
  try {
    return await withBackupLock(ctx.admin, async (lease) => {
      const fetched = await ctx.offsite?.fetchForRestore(task, { database, file: input.file, dryRun });
      if (dryRun && fetched && !fetched.downloaded) {
        // Its manifest was checked against the trusted keys; its bytes are checked on the real restore's download.
        chosen = fetched.file;
        const metadata = describeManifest(fetched.manifest);
        const path = store.pathOf(fetched.file);
        checkSchemaKnown(ctx, metadata, path);
        await checkSwapPossible(ctx.admin);
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
        return { path, metadata, dryRun, source, offsite: { location, bucket, key, directory } };
      }
      const entries = await store.list();
      const recorded = await ctx.chain.newestSequence(database);
      const chain = assessChain(entries, database, recorded);
      const entry = selectBackup(entries, {
        database,
        file: input.file,
        allowUnsigned: input.allowUnsigned,
        chain,
      });
      chosen = entry.file;
      const allowUnsigned = entry.state !== 'trusted';
      hooks.progress?.phase('verifying');
      const metadata = await verifyForRestore(ctx, store, entry, dryRun);
      await checkSwapPossible(ctx.admin);
      const source = await chooseRestoreSource(ctx, entry);
      const shownSource = { via: source.via, reason: source.reason };
      if (dryRun) {
        ctx.logger.info(
          `Dry run: backup '${entry.path}' verifies and would be restored; nothing was changed. ` +
            `It would be restored from ${source.via === 'standby' ? 'the standby database' : 'the file'}: ${source.reason}`,
        );
        await audit('succeeded', entry.file, `Backup verifies and would be restored (dry run).`);
        return { path: entry.path, metadata, dryRun, source: shownSource };
      }
      const plan: Plan = {
        store,
        file: entry.file,
        path: entry.path,
        keepOld: settings.keepOldDatabase,
        allowUnsigned,
        sizeBytes: metadata.sizeBytes,
        lease,
        recordIntent: (message) => audit('started', entry.file, message),
        source,
      };
      const via = await replaceDatabase(ctx, plan, hooks);
      // The restored database carries the chain record of its backup's time: the newest sequence must survive it.
      await ctx.chain
        .record(database, recorded)
        .catch((error: unknown) =>
          ctx.logger.warn(`Could not record the backup sequence after the restore: ${describe(error)}`),
        );
      ctx.metrics.restoreSucceeded();
      ctx.logger.info(
        `Restored database '${database}' from backup '${entry.path}' (requested by '${input.user}'${via.via === 'standby' ? ', swapped in from the rehearsed standby' : ''}).`,
      );
      await audit(
        'succeeded',
        entry.file,
        `Restored database '${database}' from backup${via.via === 'standby' ? ' (its rehearsed standby swapped in)' : ''}.`,
      );
      // The standby became the database: rebuild it from the same backup in the background.
      if (via.via === 'standby' && settings.rehearse) ctx.rehearsals?.enqueue(entry.file);
      return { path: entry.path, metadata, dryRun, source: via };
    });
  } catch (error) {
    const refused = isAppError(error) && error.kind !== 'failed';
    if (!dryRun && !refused) ctx.metrics.restoreFailed();
    ctx.logger.error(`Restore requested by '${input.user}' did not happen: ${describe(error)}`);
    const named = isAppError(error) ? error.details?.file : undefined;
    await audit(
      refused ? 'refused' : 'failed',
      chosen ?? (typeof named === 'string' ? named : null),
      describe(error),
    );
    throw error;
  }
}

/**
 * A trusted backup is read in full by the restore itself (checked, then fed from the same descriptor); a dry run,
 * and any file restored with --allow-unsigned, is read in full here first.
 */
async function verifyForRestore(
  ctx: RestoreDeps,
  store: BackupStore,
  entry: CatalogEntry,
  dryRun: boolean,
): Promise<BackupMetadata> {
  const { file, path } = entry;
  let metadata: BackupMetadata | null = entry.manifest ? describeManifest(entry.manifest) : entry.legacy;
  if (dryRun || entry.state !== 'trusted') {
    const verification = await store.verify(file, { allowUnsigned: entry.state !== 'trusted' });
    if (!verification.ok) {
      // Never fall back to an older file: the admin must see that the chosen backup is bad.
      throw new AppError(
        'BACKUP.VERIFICATION_FAILED',
        'conflict',
        `The backup '${path}' fails verification: ${verification.reason}`,
        {
          suggestion:
            'Nothing was changed. Restore another backup by name with --file <name>, after checking it.',
          details: { file },
        },
      );
    }
    metadata = verification.metadata;
    if (entry.state !== 'trusted') {
      ctx.logger.warn(
        `Restoring '${file}' WITHOUT a trusted signature (${entry.reason ?? entry.state}), on purpose with --allow-unsigned; its SHA-256 is ${verification.metadata.sha256}.`,
      );
    }
  }
  if (!metadata) throw new Error(`no description of ${file}`);
  checkSchemaKnown(ctx, metadata, path);
  return metadata;
}

function checkSchemaKnown(ctx: RestoreDeps, metadata: BackupMetadata, path: string): void {
  if (metadata.schemaVersion <= ctx.lifecycle.knownSchemaVersion) return;
  throw new AppError(
    'BACKUP.SCHEMA_TOO_NEW',
    'conflict',
    `The backup '${path}' has schema version ${metadata.schemaVersion}, newer than this server knows (${ctx.lifecycle.knownSchemaVersion}).`,
    {
      suggestion: `Nothing was changed. Restore it with a server of version ${metadata.appVersion} or newer.`,
      details: { file: metadata.file },
    },
  );
}

interface Plan {
  store: BackupStore;
  file: string;
  path: string;
  keepOld: boolean;
  /** The file is restored on purpose without a trusted signature (--allow-unsigned). */
  allowUnsigned: boolean;
  sizeBytes: number;
  lease: LockLease;
  /** Audits the swap before it starts: a server killed during or after it still leaves who replaced the data. */
  recordIntent(message: string): Promise<void>;
  /** The rehearsed standby holding this very backup, or the file to load. */
  source: RestoreSource;
}

/**
 * Scratch restore while the server stays readable (or the rehearsed standby renamed to the scratch name), then the
 * swap; the old database stays until the new one is in. Returns where the data came from.
 */
async function replaceDatabase(
  ctx: RestoreDeps,
  plan: Plan,
  hooks: RestoreHooks,
): Promise<RestoreResult['source']> {
  const database = ctx.admin.databaseName;
  const names = restoreDatabaseNames(database, ctx.clock.now());
  const progress = hooks.progress ?? NO_PROGRESS;
  let writesRefused = false;
  let used: RestoreSource = plan.source;
  try {
    progress.phase('waiting for writes');
    // PostgreSQL refuses writes from here on, for every replica (their sessions are ended and come back read-only):
    // a write any replica acknowledges from now on is not lost in the swap. This process's gate then answers first.
    writesRefused = true; // before the call: should it fail halfway, the setting is reset all the same
    await ctx.admin.refuseWrites(database);
    ctx.logger.info(`Writes to '${database}' are refused on every replica until the restore is over.`);
    ctx.maintenance.set('read-only', 'a restore is preparing the new database');
    if (!(await ctx.maintenance.writesSettled(WRITES_SETTLE_MS))) {
      throw new AppError(
        'BACKUP.WRITES_RUNNING',
        'conflict',
        `Write requests were still running ${WRITES_SETTLE_MS / 1000} s after the server stopped taking new ones; the restore did not start.`,
        { suggestion: 'Nothing was changed. Try again when the server is less busy.', retryAfterSeconds: 10 },
      );
    }
    // The standby is checked again under its lock, right before it is taken: it may have changed since the choice.
    if (plan.source.via === 'standby') {
      const taken = await takeStandby(ctx, plan.source, names.scratch);
      used = taken.ok ? plan.source : { via: 'file', reason: taken.reason };
      if (!taken.ok)
        ctx.logger.warn(`The standby is not used after all (${taken.reason}); loading the file.`);
    }
    if (used.via === 'file') {
      await loadScratch(ctx, plan, names.scratch, hooks);
    }
    // While reads are still answered: the bulk of the replay guard goes over now, the swap adds what comes since.
    await ctx.lifecycle
      .carrySignaturesAhead(names.scratch)
      .catch((error: unknown) =>
        ctx.logger.warn(
          `Could not carry the seen signatures ahead of the swap (${describe(error)}); the swap carries them all.`,
        ),
      );
    try {
      // Another replica may hold the lock now and run its own restore: never two swaps.
      await ensureLockHeld(plan.lease, database, `the swap of the restored copy into '${database}'`);
      // The restored copy goes in read-only too: no replica writes to it before its migrations and carry-over are
      // done. Set here, outside the moment of the swap, which it would only lengthen.
      await ctx.admin.refuseWrites(names.scratch);
    } catch (error) {
      await ctx.admin.dropDatabase(names.scratch).catch(() => {});
      throw error;
    }
    await plan.recordIntent(
      `Swapping the restored '${plan.file}' in for '${database}'${used.via === 'standby' ? ' (from its rehearsed standby)' : ''}; the previous database is set aside as '${names.aside}'.`,
    );
    ctx.maintenance.set('unavailable', 'a restore is swapping in the new database');
    progress.phase('swapping');
    await swapIn(ctx, names, hooks);
  } finally {
    if (writesRefused) {
      // Reads are answered again while the database becomes writable; writes are still refused meanwhile.
      if (ctx.maintenance.get().phase === 'unavailable')
        ctx.maintenance.set('read-only', 'a restore is finishing');
      // Whichever database now has the name (the restored one, or the old one put back) carries the setting.
      await allowWritesAgain(ctx, plan.lease);
    }
    ctx.maintenance.set('normal', '');
  }
  if (plan.keepOld) {
    await ctx.admin
      .allowWrites(names.aside)
      .catch((error: unknown) =>
        ctx.logger.warn(
          `Could not make the kept database '${names.aside}' writable (${describe(error)}); before using it run: ALTER DATABASE "${names.aside}" RESET default_transaction_read_only;`,
        ),
      );
    ctx.logger.info(
      `Kept the replaced database as '${names.aside}' (keep_old_database); drop it when no longer needed.`,
    );
    return { via: used.via, reason: used.reason };
  }
  // The restore is complete once swapped: the old copy is dropped in the background (dropping a large database
  // takes seconds). Should the server stop first, the next start names the leftover copy in a warning.
  void ctx.admin.dropDatabase(names.aside).then(
    () => ctx.logger.info(`Dropped the replaced database '${names.aside}'.`),
    (error: unknown) =>
      ctx.logger.warn(
        `Could not drop the replaced database '${names.aside}': ${describe(error)} Drop it by hand.`,
      ),
  );
  return { via: used.via, reason: used.reason };
}

/** The file restored into the scratch database through the executor (verified on the way); the old database untouched. */
async function loadScratch(
  ctx: RestoreDeps,
  plan: Plan,
  scratch: string,
  hooks: RestoreHooks,
): Promise<void> {
  const database = ctx.admin.databaseName;
  const progress = hooks.progress ?? NO_PROGRESS;
  // A plain dump carries neither the database's encoding and locale nor the server's major: the new copy gets them here.
  const locale = await ctx.admin.databaseLocale();
  const serverMajor = Number.parseInt(await ctx.admin.serverVersion(), 10);
  ctx.logger.info(
    `Restoring '${plan.file}' into the scratch database '${scratch}'; the server stays readable.`,
  );
  await hooks.reached?.('scratch');
  progress.phase('restoring', plan.sizeBytes);
  try {
    await plan.store.restore({
      file: plan.file,
      onProgress: (bytes) => progress.bytes(bytes),
      targetDatabase: scratch,
      allowUnsigned: plan.allowUnsigned,
      serverMajor,
      locale,
    });
  } catch (error) {
    await ctx.admin.dropDatabase(scratch).catch(() => {}); // the executor drops it too; this is a second net
    // The restore's own full read found the file bad (checksum, size, dump structure): a refused backup, by name.
    if (isAppError(error) && error.code === 'BACKUP.UNTRUSTED') {
      throw new AppError(
        'BACKUP.VERIFICATION_FAILED',
        'conflict',
        `The backup '${plan.path}' fails verification: ${describe(error)} The database '${database}' was not touched.`,
        {
          cause: error,
          suggestion:
            'Nothing was changed. Restore another backup by name with --file <name>, after checking it.',
          details: { file: plan.file },
        },
      );
    }
    throw new AppError(
      'BACKUP.RESTORE_FAILED',
      'failed',
      `Restoring '${plan.file}' failed: ${describe(error)} The database '${database}' was not touched.`,
      {
        cause: error,
        suggestion:
          'See the server log for the tool output; the backup may be damaged or need other privileges.',
        details: isAppError(error) ? { causeCode: error.code } : undefined,
      },
    );
  }
}

const LOCK_RETRY_MS = 10_000;
const LOCK_RETRIES = 360; // an hour; after that, the next start of any server resets it (start-up recovery)

/**
 * The end of the read-only time. Only under the backup lock: should this restore have lost it, another replica may
 * be restoring now and hold the database read-only on purpose; the reset then waits, in the background, until the
 * lock is free (a restore that held it has reset the setting itself by then; resetting again changes nothing).
 */
async function allowWritesAgain(ctx: RestoreDeps, lease: LockLease): Promise<void> {
  const { admin, logger } = ctx;
  const database = admin.databaseName;
  const resetUnderFreeLock = async (): Promise<boolean> =>
    (await admin.tryWithLock(backupLockName(database), () => admin.allowWrites(database))).acquired;
  try {
    if (await lease.held()) {
      await admin.allowWrites(database);
    } else if (!(await resetUnderFreeLock())) {
      logger.warn(
        `'${database}' stays read-only while another backup or restore holds the lock this restore lost; ` +
          `writes are accepted again once it is free.`,
      );
      void retryInBackground(ctx.clock, resetUnderFreeLock).then(
        (done) => done && logger.info(`Writes to '${database}' are accepted again.`),
        (error: unknown) =>
          logger.error(`Could not make '${database}' writable again (${describe(error)}); restart a server.`),
      );
      return;
    }
    logger.info(`Writes to '${database}' are accepted again.`);
  } catch (error) {
    logger.error(
      `Could not make '${database}' writable again after the restore (${describe(error)}): every replica refuses writes ` +
        `until a server starts (its start-up recovery resets it) or an administrator runs: ` +
        `ALTER DATABASE "${database}" RESET default_transaction_read_only;`,
    );
  }
}

async function retryInBackground(clock: Clock, attempt: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < LOCK_RETRIES; i += 1) {
    await clock.sleep(LOCK_RETRY_MS);
    if (await attempt()) return true;
  }
  return false;
}

type SwapStep = 'drained' | 'aside' | 'swapped';

async function swapIn(
  ctx: RestoreDeps,
  names: { scratch: string; aside: string },
  hooks: RestoreHooks,
): Promise<void> {
  const { admin, lifecycle } = ctx;
  const database = admin.databaseName;
  let step: SwapStep = 'drained';
  try {
    await lifecycle.drainPool();
    await admin.renameDatabase(database, names.aside);
    step = 'aside';
    await hooks.reached?.('swap');
    await admin.renameDatabase(names.scratch, database);
    step = 'swapped';
    await lifecycle.reopenPool();
    await hooks.reached?.('swapped');
    const version = await lifecycle.migrate();
    ctx.logger.info(`The restored database '${database}' is in place at schema version ${version}.`);
    await lifecycle.carryOverFrom(names.aside).catch((error: unknown) => {
      // The restore itself succeeded; say plainly what is weaker until the signature window has passed.
      ctx.logger.warn(
        `Could not carry the recently seen request signatures, key revocations and denials over into the restored database (${describe(error)}); ` +
          'requests signed in the last minutes could be replayed until the signature window has passed.',
      );
    });
  } catch (error) {
    await putBack(ctx, names, step, error);
  }
}

/** Undoes the swap so far: the restored copy goes back to its scratch name and is dropped, the old database returns. */
async function putBack(
  ctx: RestoreDeps,
  names: { scratch: string; aside: string },
  step: SwapStep,
  error: unknown,
): Promise<never> {
  const { admin, lifecycle, logger } = ctx;
  const database = admin.databaseName;
  logger.error(`The swap to the restored database failed (${describe(error)}); putting '${database}' back.`);
  try {
    if (step === 'swapped') {
      await lifecycle.drainPool();
      await admin.renameDatabase(database, names.scratch);
    }
    if (step !== 'drained') await admin.renameDatabase(names.aside, database);
  } catch (rollbackError) {
    await lifecycle.reopenPool().catch(() => {});
    throw new AppError(
      'BACKUP.ROLLBACK_FAILED',
      'failed',
      `The restore failed and putting the previous database back failed too (${describe(rollbackError)}).`,
      {
        cause: error,
        suggestion:
          `The previous database is kept as '${names.aside}'. Restart the server: it renames it back on start-up ` +
          `when '${database}' is missing. Do not drop databases by hand before that.`,
      },
    );
  }
  await lifecycle.reopenPool();
  await admin.dropDatabase(names.scratch).catch(() => {});
  throw new AppError(
    'BACKUP.SWAP_FAILED',
    'failed',
    `Swapping in the restored database failed: ${describe(error)} The previous database '${database}' is back in place.`,
    { cause: error, suggestion: 'See the server log for details.' },
  );
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
