// After a local backup: every local backup not yet in the store goes there, oldest first; then off-site retention.
// A store that fails keeps the local backups (nothing local is touched), is logged and counted, and the next run
// catches up. Every run, failed or not, ends with the staleness check of the newest confirmed off-site copy: a store
// that keeps failing must not stay silent behind its error lines.
import { AppError, isAppError } from '../errors';
import { formatBytes, formatDuration } from '../units';
import { isStale } from '../backup/freshness';
import { recoveredEvent } from '../ports/notifier';
import type { BackupTask } from '../ports/backup-store';
import type { OffsiteContext } from './context';
import type { OffsiteStore } from '../ports/offsite-store';
import { pruneOffsite } from './retention';
import type { CopyReport, OffsiteCatalog } from './model';
import { readOffsiteCatalog } from './trusted';

export async function copyToOffsite(ctx: OffsiteContext, task: BackupTask): Promise<CopyReport | null> {
  const { settings } = task;
  const store = ctx.storeFor(task);
  if (!settings.offsite || !store) return null;
  const report: CopyReport = { uploaded: [], failure: null, removed: [] };
  const read = async (): Promise<OffsiteCatalog> => {
    const catalog = await readOffsiteCatalog(store, ctx.format, task.store.trustPolicy());
    const newest = catalog.trusted[0]?.createdAt ?? null;
    ctx.memory.set(store.location, newest);
    report.newestConfirmed = newest;
    ctx.metrics.offsiteNewest(newest);
    return catalog;
  };
  try {
    let catalog = await read();
    const present = new Set([...catalog.trusted, ...catalog.untrusted].map((b) => b.file));
    const locals = await ctx.format.listLocal(task.store);
    // Objects are written once and never replaced: a local backup whose name the store holds for other bytes (made
    // in the same second as one of another server, or a directory reused) cannot go there, and must not go unseen.
    const clashing = locals.filter((local) =>
      catalog.trusted.some((remote) => remote.file === local.file && remote.sha256 !== local.sha256),
    );
    const pending = locals
      .filter((local) => !present.has(local.file))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const local of pending) {
      const started = ctx.clock.now();
      const { file, manifestFile, sha256 } = local;
      const result = await store.upload({ file, manifestFile, sha256 });
      report.uploaded.push(local.file);
      ctx.logger.info(
        `Copied ${local.file} to ${store.location} (${formatBytes(result.sizeBytes)} in ${result.parts} part(s), ${formatDuration(ctx.clock.now().getTime() - started.getTime())})`,
      );
    }
    if (pending.length > 0) catalog = await read();
    ctx.metrics.offsiteSucceeded(ctx.clock.now());
    ctx.notifier?.resolved(
      `offsite_failed:${store.location}`,
      recoveredEvent('offsite_failed', null, `Backups are copied to ${store.location} again.`),
    );
    report.removed = await pruneOffsite(store, catalog, settings.offsite.keep, ctx.logger);
    if (clashing.length > 0)
      throw nameTaken(
        store.location,
        clashing.map((c) => c.file),
      );
  } catch (error) {
    const hint = isAppError(error) && error.suggestion ? ` ${error.suggestion}` : '';
    report.failure = `${error instanceof Error ? error.message : String(error)}${hint}`;
    ctx.metrics.offsiteFailed();
    ctx.logger.error(
      `Off-site copy to ${store.location} failed; the local backups are kept and the copy is retried on the next run: ${report.failure}`,
    );
    ctx.notifier?.problem(`offsite_failed:${store.location}`, {
      kind: 'offsite_failed',
      severity: 'warning',
      database: null,
      backup: null,
      reason: `The off-site copy to ${store.location} failed (the local backups are kept): ${report.failure}`,
      suggestion: isAppError(error) && error.suggestion ? error.suggestion : null,
    });
  }
  warnIfStale(ctx, store, settings.periodMs, report.failure !== null);
  return report;
}

function warnIfStale(ctx: OffsiteContext, store: OffsiteStore, periodMs: number, failed: boolean): void {
  const known = ctx.memory.has(store.location);
  const newest = ctx.memory.get(store.location) ?? null;
  const key = `offsite_stale:${store.location}`;
  if (!isStale(newest, periodMs, ctx.clock.now())) {
    ctx.notifier?.resolved(
      key,
      recoveredEvent('offsite_stale', null, `${store.location} has a recent backup again.`),
    );
    return;
  }
  const period = formatDuration(periodMs);
  const why = failed ? ' The off-site copies are failing: see the error above.' : '';
  const line = newest
    ? `The newest off-site backup in ${store.location} is from ${newest.toISOString()}, older than twice the period (${period}).`
    : known
      ? `There is no off-site backup in ${store.location} yet.`
      : `No off-site backup in ${store.location} has been confirmed since the server started: the store could not be read.`;
  ctx.logger.warn(line + why);
  ctx.notifier?.problem(key, {
    kind: 'offsite_stale',
    severity: 'warning',
    database: null,
    backup: null,
    reason: line,
    suggestion: failed ? 'The copies are failing: see the offsite_failed message and the server log.' : null,
  });
}

function nameTaken(location: string, files: string[]): AppError {
  return new AppError(
    'OFFSITE.NAME_TAKEN',
    'conflict',
    `${location} already holds other bytes under the name of the local backup(s) ${files.map((f) => `'${f}'`).join(', ')}, ` +
      'so they were not copied (objects are written once and never replaced)',
    {
      suggestion:
        'The next backup gets a new name and is copied. Compare the two with `database-backup list --offsite`; ' +
        'remove the object from the store only if you know it is not wanted.',
    },
  );
}
