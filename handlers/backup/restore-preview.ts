// What a restore will do, said before it does it: which backup (of which database, signed by which key, taken when,
// how large) and its rows per table against the live database's, from the manifest and the signed rehearsal record
// (the dump is not read for it). And the one guard that needs that view: "the latest" backup of a near-empty
// database is not restored over a database while trusted backups of another database name hold data.
import { AppError } from '../errors';
import type { BackupTask } from '../ports/backup-store';
import type { Logger } from '../ports/logger';
import type { OffsiteHooks } from '../offsite/context';
import type { CatalogEntry } from './model';
import { newestFirst } from './trust';
import { formatBytes } from '../units';

export interface RestorePreview {
  file: string;
  database: string;
  signedBy: string | null;
  takenAt: string;
  sizeBytes: number;
  serverVersion: string | null;
  /** Rows per table: the backup's from its rehearsal (null when never rehearsed), the live database's now. */
  tables: { table: string; backupRows: number | null; liveRows: number | null }[];
  /** Why the backup's rows are not known, or null. */
  rowsUnknown: string | null;
}

export function restorePreview(entry: CatalogEntry, live: Record<string, number> | null): RestorePreview {
  const m = entry.manifest;
  const rehearsal = entry.rehearsal?.state === 'trusted' ? entry.rehearsal.record : null;
  const backupRows = rehearsal?.ok ? (rehearsal.tableRows ?? null) : null;
  const names = [...new Set([...Object.keys(backupRows ?? {}), ...Object.keys(live ?? {})])].sort();
  return {
    file: entry.file,
    database: m?.database ?? entry.legacy?.database ?? '(unknown)',
    signedBy: entry.signedBy ?? null,
    takenAt: m?.createdAt ?? entry.legacy?.startedAt ?? '',
    sizeBytes: m?.sizeBytes ?? entry.sizeBytes,
    serverVersion: m?.serverVersion ?? entry.legacy?.serverVersion ?? null,
    tables: names.map((table) => ({
      table,
      backupRows: backupRows ? (backupRows[table] ?? 0) : null,
      liveRows: live ? (live[table] ?? 0) : null,
    })),
    rowsUnknown: backupRows
      ? null
      : rehearsal
        ? 'its rehearsal record predates per-table counts or failed'
        : 'it was never rehearsed (rehearse = true, or `database-backup rehearse --file <name>`, counts them)',
  };
}

/** A backup this many times smaller than another's, and smaller by at least NEAR_EMPTY_MIN_BYTES, is "near-empty". */
const NEAR_EMPTY_RATIO = 4;
const NEAR_EMPTY_MIN_BYTES = 64 * 1024;

/**
 * The store's trusted backups as catalog entries, for the near-empty guard: on a fresh server the old server's
 * backups are often only there. Empty without a store; a store that cannot be read is logged and left out (the
 * guard then judges by the directory alone, as without a store).
 */
export async function storeEntries(
  ctx: { offsite?: OffsiteHooks | undefined; logger: Logger },
  task: BackupTask,
): Promise<CatalogEntry[]> {
  if (!ctx.offsite) return [];
  try {
    const found = await ctx.offsite.catalog(task);
    return (found?.catalog.trusted ?? []).map((b) => ({
      file: b.file,
      path: `${found?.location ?? ''}${b.file}`,
      sizeBytes: b.manifest.sizeBytes,
      state: 'trusted' as const,
      reason: null,
      manifest: b.manifest,
      legacy: null,
    }));
  } catch (error) {
    ctx.logger.warn(
      `Could not read the off-site store to check for backups of another database (${error instanceof Error ? error.message : String(error)}); judging by the backup directory alone.`,
    );
    return [];
  }
}

/**
 * Refuses "the latest" backup when it is of a near-empty database next to trusted backups of another database name
 * that hold data, in the directory or the store (a fresh server under another name backs up its empty database
 * first): the admin names the file.
 */
export function refuseNearEmptyLatest(entries: readonly CatalogEntry[], chosen: CatalogEntry): void {
  const size = chosen.manifest?.sizeBytes ?? chosen.sizeBytes;
  const database = chosen.manifest?.database;
  const fuller = newestFirst(
    entries.filter(
      (e) =>
        e.state === 'trusted' &&
        e.manifest &&
        e.manifest.database !== database &&
        e.manifest.sizeBytes >= size * NEAR_EMPTY_RATIO &&
        e.manifest.sizeBytes - size >= NEAR_EMPTY_MIN_BYTES,
    ),
  );
  const other = fuller[0];
  if (!other?.manifest) return;
  const names = fuller
    .slice(0, 3)
    .map(
      (e) =>
        `'${e.file}' of database '${e.manifest!.database}' (${formatBytes(e.manifest!.sizeBytes)}, taken ${e.manifest!.createdAt})`,
    )
    .join(', ');
  throw new AppError(
    'BACKUP.NEAR_EMPTY',
    'conflict',
    `The newest backup of '${database}', '${chosen.file}' (${formatBytes(size)}, taken ${chosen.manifest?.createdAt ?? '?'}), ` +
      `is of a near-empty database, while trusted backups of another database hold data: ${names}. ` +
      'A server set up anew under another database name backs up its empty database first; that backup is not restored as "the latest" without a word.',
    {
      suggestion:
        `Nothing was changed. Restore the other database's backup: bomnipotent_client database-backup completely-restore --file ${other.file} ` +
        `(try --dry-run first; \`database-backup list --offsite\` shows the store's backups too), or this one on purpose: --file ${chosen.file}.`,
      details: { newest: chosen.file, fuller: other.file },
    },
  );
}
