// Backup file names: `<database>_<YYYYMMDD_HHMMSS>[_N].dump` in UTC, their metadata files, and "newest first".

const NAME = /^(.+)_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:_(\d{1,6}))?\.dump$/;
// A database part that could climb out of the directory or hide as a dotfile is never ours.
const SAFE_DATABASE = /^[^./\\\0][^/\\\0]*$/;

export interface ParsedBackupName {
  database: string;
  takenAt: Date;
  sequence: number; // 1 without a suffix, then 2, 3 ... for dumps taken in the same second
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function stamp(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_` +
    `${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`
  );
}

/** The first free name for a dump of `database` taken at `date`; `_2`, `_3` ... when the second is taken already. */
export function backupFileName(database: string, date: Date, existingNames: Iterable<string>): string {
  const taken = new Set(existingNames);
  const base = `${database}_${stamp(date)}`;
  if (!taken.has(`${base}.dump`)) return `${base}.dump`;
  for (let n = 2; ; n++) {
    const candidate = `${base}_${n}.dump`;
    if (!taken.has(candidate)) return candidate;
  }
}

export function parseBackupFileName(name: string): ParsedBackupName | null {
  const match = NAME.exec(name);
  if (!match) return null;
  const [, database, y, mo, d, h, mi, s, seq] = match;
  if (database === undefined || !SAFE_DATABASE.test(database)) return null;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const takenAt = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]));
  // Reject impossible dates (20261332_256199) that Date.UTC would silently roll over.
  if (Number.isNaN(takenAt.getTime()) || stamp(takenAt) !== `${y}${mo}${d}_${h}${mi}${s}`) return null;
  const sequence = seq === undefined ? 1 : Number(seq);
  if (seq !== undefined && sequence < 2) return null;
  return { database, takenAt, sequence };
}

export function isBackupFileName(name: string): boolean {
  return parseBackupFileName(name) !== null;
}

export function metadataFileName(file: string): string {
  return `${file}.meta.json`;
}

/** Newest first by the time in the name, then by sequence; names that do not parse go last, in their given order. */
export function sortNewestFirst<T extends { file: string }>(entries: readonly T[]): T[] {
  const keyed = entries.map((entry, index) => ({ entry, index, parsed: parseBackupFileName(entry.file) }));
  keyed.sort((a, b) => {
    if (!a.parsed || !b.parsed) return a.parsed ? -1 : b.parsed ? 1 : a.index - b.index;
    const byTime = b.parsed.takenAt.getTime() - a.parsed.takenAt.getTime();
    if (byTime !== 0) return byTime;
    return b.parsed.sequence - a.parsed.sequence || a.index - b.index;
  });
  return keyed.map((k) => k.entry);
}
