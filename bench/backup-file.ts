// Which file a `database-backup create` wrote, whatever its format: the product's answer names it (by path or by
// file name, in whatever field), else the newest data file in the backup directory.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface DirEntry {
  name: string;
  mtimeMs: number;
  sizeBytes: number;
}

/** Files that sit next to backups but are not one: metadata, manifests, the audit log, keys, unfinished writes. */
export function isDataFileName(name: string): boolean {
  return !name.startsWith('.') && !/\.(json|jsonl|pem|partial|tmp|lock|sig)$/i.test(name);
}

/** Every string in an answer (depth-bounded): paths and file names, wherever the format puts them. */
function strings(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (depth > 4 || value === null || typeof value !== 'object') return [];
  return Object.values(value as Record<string, unknown>).flatMap((v) => strings(v, depth + 1));
}

/** The data file the answer names; failing that, the newest data file in the directory; null when there is none. */
export function pickDataFile(answer: unknown, entries: readonly DirEntry[]): DirEntry | null {
  const data = entries.filter((e) => isDataFileName(e.name));
  const newest = (list: readonly DirEntry[]) =>
    list.reduce<DirEntry | null>((best, e) => (best === null || e.mtimeMs > best.mtimeMs ? e : best), null);
  const named = new Set(strings(answer).map((s) => basename(s)));
  return newest(data.filter((e) => named.has(e.name))) ?? newest(data);
}

export function findBackupFile(answer: unknown, directory: string): { path: string; sizeBytes: number } {
  const entries: DirEntry[] = readdirSync(directory, { withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const info = statSync(join(directory, d.name));
      return { name: d.name, mtimeMs: info.mtimeMs, sizeBytes: info.size };
    });
  const found = pickDataFile(answer, entries);
  if (!found) throw new Error(`no backup file in ${directory} after database-backup create`);
  return { path: join(directory, found.name), sizeBytes: found.sizeBytes };
}
