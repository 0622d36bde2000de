// Which backup a restore uses: the newest of this database by the time in its file name, or one named by the admin.
import { AppError } from '../errors';
import type { BackupEntry } from '../ports';
import { isBackupFileName, parseBackupFileName, sortNewestFirst } from './naming';

/** A requested name must be a bare backup file name: no path, nothing to climb out of the directory with. */
export function checkRequestedFileName(file: string): void {
  const bare = !/[/\\]/.test(file) && !file.includes('..') && !file.includes('\0');
  if (!bare || !isBackupFileName(file)) {
    throw new AppError('BACKUP.BAD_FILE_NAME', 'invalid', `'${file}' is not the name of a backup file.`, {
      suggestion:
        'Give the bare file name as `database-backup list` shows it, e.g. bomnipotent_db_20260111_103024.dump.',
    });
  }
}

/**
 * The newest backup of `database` (by the timestamp and sequence in its name), or the named one. The newest is
 * chosen whatever its state: if it turns out bad, the restore refuses it rather than silently taking an older one.
 */
export function selectBackup(
  entries: readonly BackupEntry[],
  request: { database: string; file?: string | undefined },
): BackupEntry {
  if (request.file !== undefined) {
    checkRequestedFileName(request.file);
    const named = entries.find((e) => e.file === request.file);
    if (!named) {
      throw new AppError(
        'BACKUP.FILE_NOT_FOUND',
        'not_found',
        `There is no backup named '${request.file}' in the backup directory.`,
        {
          suggestion: 'List the backups with `bomnipotent_client database-backup list`.',
        },
      );
    }
    return named;
  }
  const ours = sortNewestFirst(
    entries.filter((e) => parseBackupFileName(e.file)?.database === request.database),
  );
  const newest = ours[0];
  if (!newest) {
    const others =
      entries.length > 0
        ? ` (there are ${entries.length} of other databases; restore one with --file <name>)`
        : '';
    throw new AppError(
      'BACKUP.NONE_FOUND',
      'not_found',
      `There is no backup of database '${request.database}' to restore${others}.`,
      {
        suggestion: 'Make one with `bomnipotent_client database-backup create`.',
      },
    );
  }
  return newest;
}
