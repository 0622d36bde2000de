// Off-site retention: only trusted backups of ours count; the newest `keep` stay (the newest always does), locked
// objects are skipped, and untrusted, incomplete and foreign objects are never touched.
import type { Logger } from '../ports/logger';
import type { OffsiteStore } from '../ports/offsite-store';
import type { OffsiteCatalog } from './model';

export async function pruneOffsite(
  store: OffsiteStore,
  catalog: OffsiteCatalog,
  keep: number | null,
  logger: Logger,
): Promise<string[]> {
  if (keep === null) return [];
  const removed: string[] = [];
  // Per database, like local retention: another server's backups in a shared prefix are not ours to thin out.
  const byDatabase = new Map<string, OffsiteCatalog['trusted']>();
  for (const backup of catalog.trusted)
    byDatabase.set(backup.database, [...(byDatabase.get(backup.database) ?? []), backup]);
  for (const backups of byDatabase.values()) {
    for (const backup of backups.slice(Math.max(1, keep))) {
      const outcome = await store.remove(backup);
      if (outcome === 'removed') removed.push(backup.file);
      else if (outcome === 'locked')
        logger.info(`Off-site retention keeps ${backup.file}: its object lock has not ended.`);
      else
        logger.warn(
          `Off-site retention leaves ${backup.file} alone: the object was not written by this product.`,
        );
    }
  }
  if (removed.length > 0)
    logger.info(`Off-site retention removed ${removed.join(', ')} from ${store.location}.`);
  return removed;
}
