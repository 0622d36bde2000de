// The EXECUTOR.* errors: one factory per failure class, each with a message that never carries a secret.
import { AppError } from '../../handlers/errors';
import { maskSecrets } from '../observability/mask';

export const EXECUTOR_ERRORS = {
  TOOL_NOT_FOUND: 'EXECUTOR.TOOL_NOT_FOUND',
  DUMP_FAILED: 'EXECUTOR.DUMP_FAILED',
  DUMP_KILLED: 'EXECUTOR.DUMP_KILLED',
  DUMP_INCOMPLETE: 'EXECUTOR.DUMP_INCOMPLETE',
  DISK_FULL: 'EXECUTOR.DISK_FULL',
  WRITE_FAILED: 'EXECUTOR.WRITE_FAILED',
  DATABASE_UNREACHABLE: 'EXECUTOR.DATABASE_UNREACHABLE',
  DIRECTORY_NOT_WRITABLE: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
  FILE_EXISTS: 'EXECUTOR.FILE_EXISTS',
  INVALID_NAME: 'EXECUTOR.INVALID_NAME',
  BACKUP_NOT_FOUND: 'EXECUTOR.BACKUP_NOT_FOUND',
  TARGET_EXISTS: 'EXECUTOR.TARGET_EXISTS',
  RESTORE_FAILED: 'EXECUTOR.RESTORE_FAILED',
  RESTORE_KILLED: 'EXECUTOR.RESTORE_KILLED',
  CANCELLED: 'EXECUTOR.CANCELLED',
} as const;

export function installHint(major: number | null): string {
  return major === null
    ? 'install the PostgreSQL client tools of the server’s major version (Debian: postgresql-client-<major>)'
    : `install the PostgreSQL client tools of version ${major} (Debian: postgresql-client-${major})`;
}

/** Where a tool was looked for, as a phrase: "on PATH" or "in /opt/pg/bin". */
export function toolNotFound(tool: string, where: string, major: number | null): AppError {
  return new AppError(EXECUTOR_ERRORS.TOOL_NOT_FOUND, 'misconfigured', `${tool} was not found ${where}.`, {
    suggestion: `${capitalize(installHint(major))}, or set the executor's tool directory to where ${tool} is.`,
    details: { tool },
  });
}

export function toolFailed(
  code: typeof EXECUTOR_ERRORS.DUMP_FAILED | typeof EXECUTOR_ERRORS.RESTORE_FAILED,
  what: string,
  detail: string | null,
  suggestion?: string,
): AppError {
  const message = detail ? `${what}: ${maskSecrets(detail)}` : `${what}.`;
  return new AppError(code, 'failed', message, suggestion === undefined ? {} : { suggestion });
}

export function toolKilled(
  code: typeof EXECUTOR_ERRORS.DUMP_KILLED | typeof EXECUTOR_ERRORS.RESTORE_KILLED,
  tool: string,
  signal: string,
): AppError {
  return new AppError(code, 'failed', `${tool} was killed by signal ${signal} before it finished.`, {
    suggestion:
      'Look for the out-of-memory killer or an operator in the system log (dmesg, journalctl); then try again.',
    details: { signal },
  });
}

export function databaseUnreachable(tool: string, detail: string | null): AppError {
  const tail = detail ? `: ${maskSecrets(detail)}` : '.';
  return new AppError(
    EXECUTOR_ERRORS.DATABASE_UNREACHABLE,
    'unavailable',
    `${tool} could not connect to the database${tail}`,
    {
      suggestion:
        'Check that PostgreSQL is running and that the host and port in db_url are reachable from here.',
    },
  );
}

export function directoryNotWritable(directory: string, reason: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.DIRECTORY_NOT_WRITABLE,
    'misconfigured',
    `The backup directory ${directory} cannot be written: ${reason}.`,
    {
      suggestion:
        'Point the database_backup task\'s "directory" at a writable directory (a mounted volume in a container), or fix its owner and permissions.',
    },
  );
}

export function diskFull(directory: string, freeBytes: number | null, writtenBytes: number): AppError {
  const free = freeBytes === null ? 'unknown' : String(freeBytes);
  return new AppError(
    EXECUTOR_ERRORS.DISK_FULL,
    'failed',
    `No space left in ${directory}: the unfinished dump had ${writtenBytes} bytes on disk when the file system filled up; ${free} bytes are free after removing it.`,
    {
      suggestion:
        'Free space there (fewer kept backups with "keep"), or point the backup directory at a larger volume.',
    },
  );
}

export function writeFailed(directory: string, cause: unknown): AppError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
  return new AppError(EXECUTOR_ERRORS.WRITE_FAILED, 'failed', `Writing into ${directory} failed (${code}).`, {
    suggestion: 'Check the file system of the backup directory (dmesg shows I/O errors).',
    cause,
  });
}

export function dumpIncomplete(detail: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.DUMP_INCOMPLETE,
    'failed',
    `pg_dump finished but its output is incomplete: ${detail}.`,
    {
      suggestion: 'Nothing was stored. Try again; if it repeats, run pg_dump by hand to see what it prints.',
    },
  );
}

export function invalidName(what: string, name: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.INVALID_NAME,
    'invalid',
    `${JSON.stringify(name)} is not a valid ${what}.`,
  );
}

export function backupNotFound(path: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.BACKUP_NOT_FOUND,
    'not_found',
    `The backup file ${path} does not exist.`,
  );
}

export function fileExists(path: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.FILE_EXISTS,
    'conflict',
    `${path} exists already; a backup never overwrites one.`,
    {
      suggestion: 'Try again: the next backup gets a new name.',
    },
  );
}

export function targetExists(database: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.TARGET_EXISTS,
    'conflict',
    `The database ${database} exists already; a restore only writes into a new one.`,
    {
      suggestion: `Drop ${database} if it is a leftover of an earlier restore, then try again.`,
    },
  );
}

export function cancelled(what: string): AppError {
  return new AppError(
    EXECUTOR_ERRORS.CANCELLED,
    'unavailable',
    `The ${what} was cancelled before it finished; nothing was kept.`,
    {
      suggestion: 'Try again once the server is not shutting down.',
    },
  );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
