// A backup taken from a newer PostgreSQL major does not load into an older server (pg_dump writes for its own major:
// newer syntax, settings the older server rejects): refused up front, before anything is loaded or changed.
import { AppError } from '../errors';

export function majorOf(version: string | null | undefined): number | null {
  const m = /^(\d+)/.exec((version ?? '').trim());
  return m ? Number(m[1]) : null;
}

export function refuseNewerMajor(
  file: string,
  backupVersion: string | null | undefined,
  serverVersion: string,
): void {
  const from = majorOf(backupVersion);
  const to = majorOf(serverVersion);
  if (from === null || to === null || from <= to) return;
  throw new AppError(
    'BACKUP.NEWER_MAJOR',
    'conflict',
    `The backup '${file}' was taken from PostgreSQL ${backupVersion ?? '?'}, a newer major than this server's PostgreSQL ${serverVersion}: a dump does not load into an older major.`,
    {
      suggestion: `Nothing was changed. Restore it into a PostgreSQL ${from} (or newer) server, or name a backup taken from PostgreSQL ${to} or older with --file <name> (\`database-backup list\` shows each backup's PostgreSQL).`,
      details: { file },
    },
  );
}
