// Which keys count, which backup is "latest", and what the chain of sequences says about missing backups.
import type { BackupManifest } from './manifest';
import type { CatalogEntry } from './model';
import { manifestDigest } from './manifest';
import { parseBackupFileName } from './naming';

function createdAt(entry: CatalogEntry): number {
  return entry.manifest ? Date.parse(entry.manifest.createdAt) : 0;
}

/** Newest first by signed creation time, then sequence; entries without a manifest last, by name. */
export function newestFirst(entries: readonly CatalogEntry[]): CatalogEntry[] {
  return [...entries].sort(
    (a, b) =>
      createdAt(b) - createdAt(a) ||
      (b.manifest?.sequence ?? 0) - (a.manifest?.sequence ?? 0) ||
      (parseBackupFileName(b.file)?.sequence ?? 0) - (parseBackupFileName(a.file)?.sequence ?? 0) ||
      b.file.localeCompare(a.file),
  );
}

/** The trusted backups of `database`, newest first: the only ones "latest", retention and freshness see. */
export function trustedOf(entries: readonly CatalogEntry[], database: string): CatalogEntry[] {
  return newestFirst(entries.filter((e) => e.state === 'trusted' && e.manifest?.database === database));
}

export interface ChainReport {
  /** The newest sequence this server recorded in its database. */
  recordedNewest: number;
  /** The newest sequence whose backup is present and trusted; null when none is. */
  presentNewest: number | null;
  /** Sequences after the newest present one up to the recorded one: deleted, or the directory was rolled back. */
  missingNewest: number[];
  /** Sequences missing between present ones (deleted out of order, or damaged). */
  missingBetween: number[];
  /** The oldest present sequence: the ones before it were removed, normally by retention. */
  presentOldest: number | null;
  /**
   * Sequences whose manifest names another previous manifest than the present one just before it: a backup of
   * another chain (another server writing the same database's backups here) or a replaced manifest.
   */
  brokenLinks: number[];
}

const MAX_LISTED = 50;

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let n = from; n <= to && out.length < MAX_LISTED; n += 1) out.push(n);
  return out;
}

export function assessChain(
  entries: readonly CatalogEntry[],
  database: string,
  recordedNewest: number,
): ChainReport {
  const manifests = trustedOf(entries, database)
    .flatMap((e) => (e.manifest ? [e.manifest] : []))
    .sort((a, b) => a.sequence - b.sequence);
  const present = manifests.map((m) => m.sequence);
  const presentNewest = present.length > 0 ? (present[present.length - 1] ?? null) : null;
  const presentOldest = present[0] ?? null;
  const missingNewest = range((presentNewest ?? 0) + 1, recordedNewest);
  const have = new Set(present);
  const missingBetween =
    presentOldest === null || presentNewest === null
      ? []
      : range(presentOldest, presentNewest).filter((n) => !have.has(n));
  return {
    recordedNewest,
    presentNewest,
    missingNewest,
    missingBetween,
    presentOldest,
    brokenLinks: brokenLinks(manifests),
  };
}

/**
 * Where two present backups have adjacent sequences, the later one must name the earlier one's manifest as its
 * previous. A chain start (no previous: the first backup, or the first after a key rotation) names none.
 */
function brokenLinks(ascending: readonly BackupManifest[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < ascending.length && out.length < MAX_LISTED; i += 1) {
    const before = ascending[i - 1];
    const after = ascending[i];
    if (!before || !after || after.sequence !== before.sequence + 1 || after.previousManifestSha256 === null)
      continue;
    if (after.previousManifestSha256 !== manifestDigest(before)) out.push(after.sequence);
  }
  return out;
}

/**
 * The newest backup by signed time, and an older one with a higher sequence when there is one: the newest then
 * starts a chain of its own. That is what a server set up anew does (its first backup, of its new and maybe empty
 * database, is newer than every backup of the server it replaces), so "the latest" is not what the admin means.
 * A key rotation or a restore does not restart the sequence (it continues from the database's record), and a newest
 * backup that the higher one's chain of previous-manifest hashes leads back to is the same chain.
 */
export function restartedChain(
  manifests: readonly BackupManifest[],
): { newest: BackupManifest; highest: BackupManifest } | null {
  let newest: BackupManifest | null = null;
  let highest: BackupManifest | null = null;
  for (const m of manifests) {
    if (!newest || Date.parse(m.createdAt) > Date.parse(newest.createdAt)) newest = m;
    if (!highest || m.sequence > highest.sequence) highest = m;
  }
  if (!newest || !highest || highest.sequence <= newest.sequence) return null;
  // The same chain after all (a replica whose clock is behind signed a later sequence at an earlier time): the
  // higher one leads back to the newest through the previous-manifest hashes.
  const byDigest = new Map(manifests.map((m) => [manifestDigest(m), m]));
  for (let m: BackupManifest | undefined = highest; m;) {
    if (m === newest) return null;
    m = m.previousManifestSha256 === null ? undefined : byDigest.get(m.previousManifestSha256);
    if (m && m.sequence >= highest.sequence) break; // a loop of forged links: stop
  }
  return { newest, highest };
}

/** One sentence for the log and the list, or null when the chain is whole. */
export function describeChain(report: ChainReport): string | null {
  const parts: string[] = [];
  if (report.missingNewest.length > 0) {
    parts.push(
      `the newest backups are missing from the directory (sequence ${formatRange(report.missingNewest)}; ` +
        `this server recorded ${report.recordedNewest} as its newest): they were deleted or the directory was rolled back`,
    );
  }
  if (report.missingBetween.length > 0)
    parts.push(`backups are missing between present ones (sequence ${formatRange(report.missingBetween)})`);
  if (report.brokenLinks.length > 0)
    parts.push(
      `the backups with sequence ${formatRange(report.brokenLinks)} do not follow the backup before them ` +
        '(they name another previous manifest): backups of another chain were mixed into the directory, ' +
        'or a manifest was replaced; run `bomnipotent_client database-backup verify` and check who writes here',
    );
  return parts.length > 0 ? parts.join('; ') : null;
}

function formatRange(numbers: readonly number[]): string {
  if (numbers.length === 1) return String(numbers[0]);
  const first = numbers[0];
  const last = numbers[numbers.length - 1];
  const contiguous = last !== undefined && first !== undefined && last - first === numbers.length - 1;
  return contiguous ? `${first}-${last}` : numbers.join(', ');
}
