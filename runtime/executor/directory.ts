// The backup directory: created private when missing, refused with a clear reason when unusable, swept after crashes.
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../handlers/ports/logger';
import { isBackupFileName } from '../../handlers/backup/naming';
import { directoryNotWritable } from './errors';

const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'a part of the path does not exist',
};

export function notWritableReason(error: unknown): string | null {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? null : (REASONS[code] ?? null);
}

/** mkdir -p with mode 0700; an unusable path becomes EXECUTOR.DIRECTORY_NOT_WRITABLE. */
export async function ensureDirectory(directory: string): Promise<void> {
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const info = await stat(directory);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    const reason = notWritableReason(error);
    if (reason) throw directoryNotWritable(directory, reason);
    throw error;
  }
}

/** Is `name` one of our unfinished files (`.<dump>.partial` or `.<dump>.meta.json.partial`)? */
export function isPartialName(name: string): boolean {
  const match = /^\.(.+)\.partial$/.exec(name);
  if (!match?.[1]) return false;
  const inner = match[1].replace(/\.meta\.json$/, '');
  return isBackupFileName(inner);
}

/**
 * Removes what a crash left behind: partial files and metadata without its dump, but only those older than
 * `before` (the start of this process), so that nothing another live writer owns is touched.
 */
export async function sweepStaleFiles(directory: string, before: number, logger: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return;
  }
  const present = new Set(names);
  for (const name of names) {
    const orphanMetadata =
      name.endsWith('.meta.json') &&
      isBackupFileName(name.slice(0, -'.meta.json'.length)) &&
      !present.has(name.slice(0, -'.meta.json'.length));
    if (!isPartialName(name) && !orphanMetadata) continue;
    try {
      const info = await stat(join(directory, name));
      if (!info.isFile() || info.mtimeMs >= before) continue;
      await rm(join(directory, name), { force: true });
      logger.info(`Removed ${join(directory, name)}, left behind by an interrupted backup.`);
    } catch (error) {
      logger.warn(`Could not remove the leftover ${join(directory, name)}: ${(error as Error).message}`);
    }
  }
}
