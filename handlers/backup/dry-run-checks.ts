// What a dry run checks beyond the backup itself, so that its OK means the real restore will get through: the room
// for a download from the store, and how the dump would load here (as which role, the grants it would skip).
import { AppError } from '../errors';
import type { BackupStore } from '../ports/backup-store';
import { formatBytes } from '../units';
import type { LoadCheck } from './model';

/** A backup only in the store is downloaded into the directory and then copied once more (the verified spool). */
export async function checkDownloadRoom(store: BackupStore, file: string, sizeBytes: number): Promise<void> {
  const free = await store.freeBytes(); // refuses a directory that cannot be created or written
  const needed = sizeBytes * 2;
  if (free >= needed) return;
  throw new AppError(
    'BACKUP.INSUFFICIENT_SPACE',
    'conflict',
    `A restore of '${file}' would download it into '${store.directory}', which has ${formatBytes(free)} free; it needs ${formatBytes(needed)} (the download and its verified copy).`,
    {
      suggestion: `Nothing was changed. Free space in '${store.directory}' and try again.`,
      details: { file },
    },
  );
}

/** The dry run's line about the load: the role the dump's SQL would run as, and the grants it would skip. */
export function loadLine(load: LoadCheck): string {
  const who =
    load.handOverTo !== undefined
      ? `as a temporary role '${load.role}', not a superuser, that owns the copy while it loads; then everything goes to the database's owner '${load.handOverTo}'`
      : `as '${load.role}', not a superuser; its objects would be owned by '${load.role}'`;
  const skipped =
    load.missingRoles.length === 0
      ? 'every role its grants name exists here'
      : `grants to roles this server lacks would be skipped: ${load.missingRoles.join(', ')}`;
  return `The dump would load ${who}; ${skipped}.`;
}
