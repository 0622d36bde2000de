// Retention: after a successful backup, remove verified backups beyond the newest `keep`; never anything else.
import type { Executor, Logger } from '../ports';
import { parseBackupFileName } from './naming';

export interface RetentionCandidate {
  file: string;
  verified: boolean;
  takenAt: Date;
  /** Tie-break for two backups within the same second (the `_N` suffix); higher is newer. */
  sequence?: number;
}

/**
 * The files to delete: verified backups older than the newest `keep` verified ones. Unverified files are never
 * chosen (deleting what cannot be checked is a decision for a person), and the newest verified backup always stays,
 * even with keep = 0. keep = null keeps everything.
 */
export function selectForDeletion(entries: readonly RetentionCandidate[], keep: number | null): string[] {
  if (keep === null) return [];
  const kept = Math.max(1, Math.floor(keep));
  const verified = entries.filter((e) => e.verified).sort(newestFirst);
  return verified.slice(kept).map((e) => e.file);
}

function newestFirst(a: RetentionCandidate, b: RetentionCandidate): number {
  return (
    b.takenAt.getTime() - a.takenAt.getTime() ||
    (b.sequence ?? 0) - (a.sequence ?? 0) ||
    b.file.localeCompare(a.file)
  );
}

export interface RetentionResult {
  deleted: string[];
  unverified: string[];
}

/** Applies selectForDeletion to the directory. Failures to remove are logged, not thrown: the backup itself is done. */
export async function applyRetention(input: {
  executor: Executor;
  directory: string;
  database: string; // only this database's backups count: a shared directory may hold others
  keep: number | null;
  logger: Logger;
}): Promise<RetentionResult> {
  const { executor, directory, database, keep, logger } = input;
  if (keep === null) return { deleted: [], unverified: [] };
  const candidates: RetentionCandidate[] = [];
  const unverified: string[] = [];
  for (const entry of await executor.list(directory)) {
    const parsed = parseBackupFileName(entry.file);
    if (!parsed || parsed.database !== database) continue; // not ours, or another database's: never touched
    const verification = await executor.verify(directory, entry.file);
    if (!verification.ok) {
      unverified.push(entry.file);
      logger.warn(
        `Backup ${entry.file} fails verification (${verification.reason}); retention leaves it in place: check it and remove it by hand if it is of no use.`,
      );
    }
    candidates.push({
      file: entry.file,
      verified: verification.ok,
      takenAt: parsed.takenAt,
      sequence: parsed.sequence,
    });
  }
  const deleted: string[] = [];
  for (const file of selectForDeletion(candidates, keep)) {
    try {
      await executor.remove(directory, file);
      deleted.push(file);
      logger.info(`Removed old database backup ${file} (keep = ${keep}).`);
    } catch (error) {
      logger.warn(
        `Could not remove old database backup ${file}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return { deleted, unverified };
}
