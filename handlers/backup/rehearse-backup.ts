// The rehearsal: a backup restored in full into a scratch database, checked (every table's rows against the dump's
// COPY data, the schema version), then kept as the standby `<db>_standby` (connections refused) that an instant
// restore can swap in. The outcome is signed next to the backup (`<file>.rehearsal.json`).
import { recoveredEvent } from '../ports/notifier';
import { AppError } from '../errors';
import { reportMissingRoles } from './missing-roles';
import type { CatalogEntry } from './model';
import type { RehearsalRecord } from './rehearsal-record';
import { NO_PROGRESS, type ProgressReporter } from '../ports/progress';
import type { BackupStore } from '../ports/backup-store';
import { openTask, type BackupDeps } from './deps';
import { REHEARSAL_FORMAT } from './rehearsal-record';
import { rehearsalScratchName, standbyName } from './database-names';
import { rehearsalLockName, withStandbyLock } from './lock';
import { checkRequestedFileName, selectBackup } from './select-backup';
import { standbyFingerprint } from './standby';
import { refuseNewerMajor } from './server-major';
import { assessChain } from './trust';
import { formatMegabytes } from '../units';

/** How long the rehearsal waits for an instant restore to finish with the standby before it gives up on keeping it. */
const STANDBY_LOCK_WAIT_MS = 10 * 60_000;

/** What a rehearsal takes: the task's snapshot, the database and its copies, and what it reports to. */
export type RehearseDeps = Pick<
  BackupDeps,
  'task' | 'admin' | 'chain' | 'lifecycle' | 'metrics' | 'clock' | 'logger' | 'notifier'
>;

export interface RehearseInput {
  file?: string | undefined;
  user: string | null;
}

export interface RehearseHooks {
  progress?: ProgressReporter | undefined;
  /** Test-only stop once psql has loaded the scratch copy. */
  reached?(phase: 'loaded'): Promise<void>;
}

/** Rehearses one backup (the latest trusted one, or `file`); throws BACKUP.REHEARSAL_FAILED after recording a failure. */
export async function rehearseBackup(
  input: RehearseInput,
  ctx: RehearseDeps,
  hooks: RehearseHooks = {},
): Promise<RehearsalRecord> {
  const { store } = openTask(ctx);
  if (input.file !== undefined) checkRequestedFileName(input.file);
  const database = ctx.admin.databaseName;
  store.signingKey(); // the record is signed: without a usable key nothing is rehearsed
  const result = await ctx.admin.tryWithLock(rehearsalLockName(database), async () => {
    const entries = await store.list();
    const chain = assessChain(entries, database, await ctx.chain.newestSequence(database));
    const entry = selectBackup(entries, { database, file: input.file, allowUnsigned: false, chain });
    refuseNewerMajor(entry.file, entry.manifest?.serverVersion, await ctx.admin.serverVersion());
    await ensureRoomForCopy(ctx);
    const record = await rehearseEntry(ctx, store, entry, hooks.progress ?? NO_PROGRESS, hooks);
    await store.writeRehearsal(entry.file, record).catch((error: unknown) => {
      ctx.logger.warn(`Could not write the rehearsal record of '${entry.file}': ${describe(error)}`);
    });
    return record;
  });
  if (!result.acquired) throw rehearsalBusy(database);
  const record = result.value;
  if (!record.ok) {
    throw new AppError(
      'BACKUP.REHEARSAL_FAILED',
      'failed',
      `The rehearsal of backup '${record.file}' failed: ${record.error ?? 'unknown reason'}`,
      {
        suggestion:
          'This backup may not restore. Check the server log, make a new backup, and rehearse it (database-backup rehearse).',
        details: { file: record.file },
      },
    );
  }
  return record;
}

/** The answer while another rehearsal (of a backup or of a restore to a point) holds the database's rehearsal lock. */
export function rehearsalBusy(database: string): AppError {
  return new AppError(
    'BACKUP.REHEARSAL_BUSY',
    'conflict',
    `A rehearsal of database '${database}' is already running (on this server or another replica).`,
    { suggestion: 'Wait for it to finish, then try again.', retryAfterSeconds: 30 },
  );
}

async function rehearseEntry(
  ctx: RehearseDeps,
  store: BackupStore,
  entry: CatalogEntry,
  progress: ProgressReporter,
  hooks: RehearseHooks,
): Promise<RehearsalRecord> {
  const manifest = entry.manifest;
  if (!manifest) throw new Error(`no trusted manifest for ${entry.file}`);
  const database = ctx.admin.databaseName;
  const started = ctx.clock.now();
  const startedMs = ctx.clock.elapsedMs();
  const scratch = rehearsalScratchName(database, started);
  const base = {
    format: REHEARSAL_FORMAT,
    file: entry.file,
    sha256: manifest.sha256,
    database,
    rehearsedAt: started.toISOString(),
  } as const;
  ctx.logger.info(`Rehearsing backup '${entry.file}': restoring it into '${scratch}'.`);
  let counted = { tables: 0, rows: 0, schemaVersion: null as number | null };
  try {
    progress.phase('restoring', manifest.sizeBytes);
    const locale = await ctx.admin.databaseLocale();
    const serverMajor = Number.parseInt(await ctx.admin.serverVersion(), 10);
    const report = await store.restore({
      file: entry.file,
      targetDatabase: scratch,
      serverMajor,
      locale,
      countRows: true,
      onProgress: (bytes) => progress.bytes(bytes),
    });
    reportMissingRoles(ctx.logger, report);
    await hooks.reached?.('loaded');
    progress.phase('checking');
    const tables = Object.keys(report.copyRows);
    const inspected = await ctx.admin.inspectRestored(scratch, tables);
    counted = {
      tables: inspected.tables,
      rows: Object.values(inspected.rowCounts).reduce((a, b) => a + b, 0),
      schemaVersion: inspected.schemaVersion,
    };
    checkRestoredCopy(ctx, manifest.schemaVersion, report.copyRows, inspected);
    progress.phase('installing standby');
    await ctx.admin.setAllowConnections(scratch, false);
    const standby = await installStandby(ctx, scratch, inspected.contentDigest);
    const record: RehearsalRecord = {
      ...base,
      durationMs: Math.round(ctx.clock.elapsedMs() - startedMs),
      ok: true,
      ...counted,
      schemaVersion: inspected.schemaVersion,
      tableRows: inspected.rowCounts,
      error: null,
      standby,
    };
    reportPassed(ctx, entry.file, record);
    return record;
  } catch (error) {
    await ctx.admin.dropDatabase(scratch).catch(() => {});
    const reason = describe(error);
    reportFailed(ctx, entry.file, reason);
    return {
      ...base,
      durationMs: Math.round(ctx.clock.elapsedMs() - startedMs),
      ok: false,
      ...counted,
      error: reason.slice(0, 2000),
      standby: null,
    };
  }
}

/** The restored copy matches the dump: every table's rows against its COPY data, the schema version known and signed. */
function checkRestoredCopy(
  ctx: Pick<RehearseDeps, 'lifecycle'>,
  signedSchemaVersion: number,
  copyRows: Record<string, number>,
  inspected: { rowCounts: Record<string, number>; schemaVersion: number },
): void {
  const tables = Object.keys(copyRows);
  const mismatches = tables.filter((t) => inspected.rowCounts[t] !== copyRows[t]);
  if (mismatches.length > 0) {
    const shown = mismatches
      .slice(0, 5)
      .map((t) => `${t} has ${inspected.rowCounts[t]} rows, the dump's COPY data ${copyRows[t]}`)
      .join('; ');
    throw new Error(`row counts differ from the dump: ${shown}`);
  }
  if (inspected.schemaVersion > ctx.lifecycle.knownSchemaVersion) {
    throw new Error(
      `the restored schema version ${inspected.schemaVersion} is newer than this server knows (${ctx.lifecycle.knownSchemaVersion})`,
    );
  }
  if (inspected.schemaVersion !== signedSchemaVersion) {
    throw new Error(
      `the restored schema version ${inspected.schemaVersion} is not the signed one (${signedSchemaVersion})`,
    );
  }
}

function reportPassed(ctx: RehearseDeps, file: string, record: RehearsalRecord): void {
  ctx.metrics.rehearsalSucceeded?.(ctx.clock.now());
  ctx.notifier?.resolved(
    `rehearsal_failed:${ctx.admin.databaseName}`,
    recoveredEvent('rehearsal_failed', ctx.admin.databaseName, `The rehearsal of '${file}' passed.`),
  );
  ctx.notifier?.heartbeat('success', null);
  ctx.logger.info(
    `Rehearsal of backup '${file}' passed: ${record.tables} tables, ${record.rows} rows in ${(record.durationMs / 1000).toFixed(1)} s; ` +
      (record.standby
        ? `the standby database '${record.standby.database}' holds it (${formatMegabytes(record.standby.sizeBytes, 'tenth')}).`
        : 'no standby was kept.'),
  );
}

function reportFailed(ctx: RehearseDeps, file: string, reason: string): void {
  ctx.metrics.rehearsalFailed?.();
  ctx.logger.error(`Rehearsal of backup '${file}' FAILED: ${reason}`);
  ctx.notifier?.heartbeat('fail', `The rehearsal of '${file}' failed: ${reason}`);
  ctx.notifier?.problem(`rehearsal_failed:${ctx.admin.databaseName}`, {
    kind: 'rehearsal_failed',
    severity: 'critical',
    database: ctx.admin.databaseName,
    backup: file,
    reason: `The backup could not be restored in full into the standby: ${reason}`,
    suggestion:
      'A restore of this backup would probably fail the same way: see the error, then make a new backup.',
  });
}

/**
 * The scratch copy needs about the database's size on the PostgreSQL server's disk while the old standby still
 * exists; refused up front when that disk is visible from here and too full (nothing is recorded: the backup is
 * not at fault).
 */
async function ensureRoomForCopy(ctx: Pick<BackupDeps, 'admin'>): Promise<void> {
  const free = await ctx.admin.dataDirectoryFreeBytes();
  if (free === null) return;
  const needed = Math.ceil((await ctx.admin.databaseSizeBytes()) * 1.1);
  if (free >= needed) return;
  throw new AppError(
    'BACKUP.INSUFFICIENT_SPACE',
    'failed',
    `Not enough free space on the PostgreSQL server's disk for a rehearsal: ${formatMegabytes(free, 'tenth')} free, about ${formatMegabytes(needed, 'tenth')} needed (a copy of the database, next to the standby).`,
    {
      suggestion:
        'Free space on the database server, or turn rehearse off in the database_backup task (the standby is one more copy of the database).',
      details: { freeBytes: free, neededBytes: needed },
    },
  );
}

/** The checked scratch copy replaces the standby; its oid is read after the rename, under the lock. */
async function installStandby(
  ctx: Pick<BackupDeps, 'admin' | 'clock' | 'logger'>,
  scratch: string,
  contentDigest: string,
): Promise<RehearsalRecord['standby']> {
  const standby = standbyName(ctx.admin.databaseName);
  try {
    return await withStandbyLock(ctx.admin, ctx.clock, STANDBY_LOCK_WAIT_MS, async () => {
      await ctx.admin.dropDatabase(standby);
      await ctx.admin.renameDatabase(scratch, standby);
      const state = await ctx.admin.databaseState(standby);
      if (!state) throw new Error(`the standby database '${standby}' vanished right after its rename`);
      const fingerprint = standbyFingerprint(state, contentDigest);
      return { database: standby, fingerprint, sizeBytes: state.sizeBytes };
    });
  } catch (error) {
    // The backup is still proven restorable; only the standby is not kept.
    ctx.logger.warn(`The rehearsed copy was not kept as the standby: ${describe(error)}`);
    await ctx.admin.dropDatabase(scratch).catch(() => {});
    return null;
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}
