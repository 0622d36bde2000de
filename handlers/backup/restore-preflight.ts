// Before a restore starts (and in its dry run): everything the swap will need, so that minutes of scratch work
// never end in "must be owner" or in a rename blocked by a session the server may not end.
import { AppError } from '../errors';
import type { DatabaseInfo } from '../ports/database-admin';

export async function checkSwapPossible(admin: DatabaseInfo): Promise<void> {
  const database = admin.databaseName;
  const { missingPrivileges, blockingSessions } = await admin.swapObstacles();
  if (missingPrivileges.length > 0) {
    throw new AppError(
      'BACKUP.MISSING_PRIVILEGE',
      'misconfigured',
      `A safe restore of '${database}' is not possible: ${missingPrivileges.join('; ')}. Nothing was changed.`,
      {
        suggestion: `As a superuser: ALTER DATABASE "${database}" OWNER TO <role>; ALTER ROLE <role> CREATEDB; (the role in db_url).`,
      },
    );
  }
  if (blockingSessions !== null) {
    throw new AppError(
      'BACKUP.SESSIONS_IN_THE_WAY',
      'conflict',
      `A restore of '${database}' could not swap the database in: sessions that the server's role may not end are connected to it (${blockingSessions}). Nothing was changed.`,
      {
        suggestion:
          'Disconnect them (e.g. a superuser psql), or grant the server role pg_signal_backend for non-superuser sessions, and try again.',
        retryAfterSeconds: 10,
      },
    );
  }
}
