// The catalog's figures against issue 10's targets: `list` with 14 backups under 200 ms, and a backup run that
// reads no existing dump.
import type { CatalogFigures } from './catalog-run';
import { median } from './stats';

export const CATALOG_TARGETS = {
  listMs: 200,
  /** A backup run "reads no existing dump" when it reads less than this share of one backup file more with the
   * catalog full than into an empty directory (the remainder is noise: manifests, logs, the HTTP exchange). */
  extraReadShare: 0.5,
};

export interface CatalogSummary {
  dataset: string;
  sizeMb: number;
  backups: number;
  listedEntries: number;
  totalBytes: number;
  /** Median of the server's answer to a signed GET /database-backup: what the target is checked against. */
  listHttpMs: number;
  /** Median wall clock of the client process (start-up included; `health` shows what start-up alone costs). */
  listClientMs: number;
  listPass: boolean;
  /** rchar of the server during a backup with the catalog full, minus the same into an empty directory. */
  extraReadBytes: number;
  extraDiskReadBytes: number;
  backupFileBytes: number;
  readsExistingDumps: boolean;
  createMsFirst: number;
  createMsLast: number;
}

export function summarizeCatalog(c: CatalogFigures): CatalogSummary {
  const listHttpMs = median(c.listHttpMs);
  const extraReadBytes = c.io.withCatalog.rchar - c.io.firstBackup.rchar;
  return {
    dataset: c.dataset,
    sizeMb: c.sizeMb,
    backups: c.backups,
    listedEntries: c.listedEntries,
    totalBytes: c.totalBytes,
    listHttpMs,
    listClientMs: median(c.listClientMs),
    listPass: listHttpMs < CATALOG_TARGETS.listMs,
    extraReadBytes,
    extraDiskReadBytes: c.io.withCatalog.readBytes - c.io.firstBackup.readBytes,
    backupFileBytes: c.io.backupFileBytes,
    readsExistingDumps: extraReadBytes >= CATALOG_TARGETS.extraReadShare * c.io.backupFileBytes,
    createMsFirst: c.createMs[0] ?? Number.NaN,
    createMsLast: c.createMs.at(-1) ?? Number.NaN,
  };
}
