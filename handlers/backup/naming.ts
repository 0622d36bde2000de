// Backup file names: `<database>_<YYYYMMDD_HHMMSS>[_N].dump[.zst|.gz][.age]` in UTC, their manifests (format 2) and
// metadata files (format 1), and "newest first".

const NAME = /^(.+)_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(?:_(\d{1,6}))?\.dump(\.zst|\.gz)?(\.age)?$/;

export type Compression = 'zstd' | 'gzip' | 'none';

const SUFFIX: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };
// A database part that could climb out of the directory or hide as a dotfile is never ours.
const SAFE_DATABASE = /^[^./\\\0][^/\\\0]*$/;

export interface ParsedBackupName {
  database: string;
  takenAt: Date;
  sequence: number; // 1 without a suffix, then 2, 3 ... for dumps taken in the same second
  compression: Compression; // from the suffix: .zst, .gz or none
  encrypted: boolean; // ends in .age
}

/** The suffix after `.dump` for a compression and encryption: `.zst`, `.zst.age`, `.gz`, '' ... */
export function dataFileSuffix(compression: Compression, encrypted: boolean): string {
  return `${SUFFIX[compression]}${encrypted ? '.age' : ''}`;
}

/** `<name>` without `.dump` and what follows: two files of one second share it, whatever their format. */
export function backupStem(name: string): string {
  return name.replace(/\.dump(\.zst|\.gz)?(\.age)?$/, '');
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

/**
 * The first free name for a dump of `database` taken at `date`; `_2`, `_3` ... when the second is taken already
 * (by a file of any format). `suffix` follows `.dump` (see dataFileSuffix).
 */
export function backupFileName(
  database: string,
  date: Date,
  existingNames: Iterable<string>,
  suffix = '',
): string {
  const taken = new Set([...existingNames].map(backupStem));
  const base = `${database}_${stamp(date)}`;
  if (!taken.has(base)) return `${base}.dump${suffix}`;
  for (let n = 2; ; n++) {
    const candidate = `${base}_${n}`;
    if (!taken.has(candidate)) return `${candidate}.dump${suffix}`;
  }
}

/** The `YYYYMMDD_HHMMSS` of a date in UTC, as in a backup file name. */
export function nameStamp(date: Date): string {
  return stamp(date);
}

export function parseBackupFileName(name: string): ParsedBackupName | null {
  const match = NAME.exec(name);
  if (!match) return null;
  const [, database, y, mo, d, h, mi, s, seq, compressed, age] = match;
  if (database === undefined || !SAFE_DATABASE.test(database)) return null;
  const parts = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const takenAt = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5]));
  // Reject impossible dates (20261332_256199) that Date.UTC would silently roll over.
  if (Number.isNaN(takenAt.getTime()) || stamp(takenAt) !== `${y}${mo}${d}_${h}${mi}${s}`) return null;
  const sequence = seq === undefined ? 1 : Number(seq);
  if (seq !== undefined && sequence < 2) return null;
  const compression: Compression = compressed === '.zst' ? 'zstd' : compressed === '.gz' ? 'gzip' : 'none';
  return { database, takenAt, sequence, compression, encrypted: age !== undefined };
}

export function isBackupFileName(name: string): boolean {
  return parseBackupFileName(name) !== null;
}

/** Format 1: the plain `.dump` and its unsigned `.meta.json`. */
export function metadataFileName(file: string): string {
  return `${file}.meta.json`;
}

const MANIFEST_SUFFIX = '.manifest.json';

/** Format 2: the signed manifest of a data file, the commit marker of a backup. */
export function manifestFileName(dataFile: string): string {
  return `${dataFile}${MANIFEST_SUFFIX}`;
}

/** The data file a manifest name belongs to, or null when `name` is not the manifest of a backup file name. */
export function dataFileOfManifest(name: string): string | null {
  if (!name.endsWith(MANIFEST_SUFFIX)) return null;
  const data = name.slice(0, -MANIFEST_SUFFIX.length);
  return isBackupFileName(data) ? data : null;
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
