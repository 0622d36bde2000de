// After a local backup: every local backup not yet in the store goes there, oldest first; then off-site retention.
// A store that fails keeps the local backups (nothing local is touched), is logged and counted, and the next run
// catches up.
import { isAppError } from '../errors';
import { formatBytes, formatDuration } from '../backup/format';
import { isStale } from '../backup/freshness';
import type { OffsiteContext } from './context';
import type { OffsiteStore } from './ports';
import { pruneOffsite } from './retention';
import { readOffsiteCatalog, type OffsiteCatalog } from './trusted';

export interface CopyReport {
  uploaded: string[];
  failure: string | null;
  removed: string[];
}

export async function copyToOffsite(ctx: OffsiteContext): Promise<CopyReport | null> {
  const settings = ctx.settings();
  const store = ctx.store();
  if (!settings?.offsite || !store) return null;
  const report: CopyReport = { uploaded: [], failure: null, removed: [] };
  try {
    let catalog = await readOffsiteCatalog(store, ctx.format);
    const present = new Set([...catalog.trusted, ...catalog.untrusted].map((b) => b.file));
    const pending = (await ctx.format.listLocal(settings.directory))
      .filter((local) => !present.has(local.file))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const local of pending) {
      const started = ctx.clock.now();
      const { file, manifestFile, sha256 } = local;
      const result = await store.upload({ directory: settings.directory, file, manifestFile, sha256 });
      report.uploaded.push(local.file);
      ctx.logger.info(
        `Copied ${local.file} to ${store.location} (${formatBytes(result.sizeBytes)} in ${result.parts} part(s), ${formatDuration(ctx.clock.now().getTime() - started.getTime())})`,
      );
    }
    if (pending.length > 0) catalog = await readOffsiteCatalog(store, ctx.format);
    ctx.metrics.offsiteSucceeded(ctx.clock.now());
    report.removed = await pruneOffsite(store, catalog, settings.offsite.keep, ctx.logger);
    warnIfStale(ctx, store, catalog, settings.periodMs);
  } catch (error) {
    report.failure = error instanceof Error ? error.message : String(error);
    ctx.metrics.offsiteFailed();
    const hint = isAppError(error) && error.suggestion ? ` ${error.suggestion}` : '';
    ctx.logger.error(
      `Off-site copy to ${store.location} failed; the local backups are kept and the copy is retried on the next run: ${report.failure}${hint}`,
    );
  }
  return report;
}

function warnIfStale(
  ctx: OffsiteContext,
  store: OffsiteStore,
  catalog: OffsiteCatalog,
  periodMs: number,
): void {
  const newest = catalog.trusted[0];
  if (!isStale(newest?.createdAt ?? null, periodMs, ctx.clock.now())) return;
  ctx.logger.warn(
    newest
      ? `The newest off-site backup in ${store.location} is from ${newest.createdAt.toISOString()}, older than twice the period (${formatDuration(periodMs)}).`
      : `There is no off-site backup in ${store.location} yet.`,
  );
}
