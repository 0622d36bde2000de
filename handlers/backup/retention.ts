// Retention: after a successful backup, remove trusted backups beyond the newest `keep`; never anything else.
// The executor's prune applies it to the directory (one call, however many backups there are).
import type { CatalogEntry } from './model';

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

/** What retention may count and remove among listed backups: the trusted ones of `database`, by their signed time. */
export function retentionCandidates(
  entries: readonly CatalogEntry[],
  database: string,
): RetentionCandidate[] {
  return entries.flatMap((e) =>
    e.state === 'trusted' && e.manifest?.database === database
      ? [
          {
            file: e.file,
            verified: true,
            takenAt: new Date(e.manifest.createdAt),
            sequence: e.manifest.sequence,
          },
        ]
      : [],
  );
}
