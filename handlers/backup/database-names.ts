// The names of the copies a restore or rehearsal makes next to the server's database: `<db>_restore_<ts>` (scratch),
// `<db>_pre_restore_<ts>` (set aside), `<db>_rehearsal_<ts>` and the standby `<db>_standby`.
import { AppError } from '../errors';

export const SCRATCH_INFIX = '_restore_';
export const ASIDE_INFIX = '_pre_restore_';
const MAX_IDENTIFIER_BYTES = 63; // PostgreSQL silently truncates longer names, which would break recovery

/** YYYYMMDDHHMMSS in UTC: sorts like time, so the newest renamed-aside copy is the greatest name. */
export function restoreStamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function restoreDatabaseNames(database: string, now: Date): { scratch: string; aside: string } {
  const stamp = restoreStamp(now);
  const names = {
    scratch: `${database}${SCRATCH_INFIX}${stamp}`,
    aside: `${database}${ASIDE_INFIX}${stamp}`,
  };
  if (new TextEncoder().encode(names.aside).length > MAX_IDENTIFIER_BYTES) {
    throw new AppError(
      'BACKUP.DATABASE_NAME_TOO_LONG',
      'misconfigured',
      `The database name '${database}' is too long for a safe restore: '${names.aside}' exceeds PostgreSQL's ${MAX_IDENTIFIER_BYTES} bytes.`,
      { suggestion: 'Use a database name of at most 36 bytes.' },
    );
  }
  return names;
}

export const STANDBY_SUFFIX = '_standby';
export const REHEARSAL_INFIX = '_rehearsal_';

export function standbyName(database: string): string {
  return `${database}${STANDBY_SUFFIX}`;
}

/** The scratch copy a rehearsal restores into. */
export function rehearsalScratchName(database: string, started: Date): string {
  return `${database}${REHEARSAL_INFIX}${restoreStamp(started)}`;
}
