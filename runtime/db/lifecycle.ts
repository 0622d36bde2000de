// The restore swap's view of the server's own database: drain and reopen the pool, migrate what was restored.
import type { DatabaseLifecycle, Logger } from '../../handlers/ports';
import type { DbHandle } from './handle';
import { migrate } from './migrate';
import { LATEST_SCHEMA_VERSION } from './migrations/index';

export function createDatabaseLifecycle(deps: { db: DbHandle; logger: Logger }): DatabaseLifecycle {
  const { db, logger } = deps;
  return {
    drainPool: () => db.drain(),
    reopenPool: async () => db.reopen(),
    // A backup older than this build is brought forward; a newer one was refused before the swap.
    migrate: () => migrate(db.pool(), logger),
    knownSchemaVersion: LATEST_SCHEMA_VERSION,
  };
}
