// DatabaseAdmin over pg: every statement runs from the maintenance database `postgres`, never from the server's own.
// Built of its parts (admin/): facts, copies, the read-only switch and the locks, over one small pool.
import pg from 'pg';
import type { DatabaseAdmin } from '../../handlers/ports/database-admin';
import type { Logger } from '../../handlers/ports/logger';
import { maskSecrets } from '../observability/mask';
import { databaseCopies } from './admin/copies';
import { databaseInfo } from './admin/info';
import { databaseLock } from './admin/lock';
import { readOnlySwitch } from './admin/read-only';
import { MAINTENANCE_DATABASE, urlForDatabase, type AdminConnection } from './admin/sql';
import { databaseNameOf } from './handle';

export {
  likePrefix,
  MAINTENANCE_DATABASE,
  parseServerVersion,
  quoteIdent,
  urlForDatabase,
} from './admin/sql';

export interface DatabaseAdminHandle extends DatabaseAdmin {
  close(): Promise<void>;
}

export function createDatabaseAdmin(options: { url: string; logger: Logger }): DatabaseAdminHandle {
  const { url, logger } = options;
  const maintenanceUrl = urlForDatabase(url, MAINTENANCE_DATABASE);
  // Small: these statements are rare; the advisory lock gets a connection of its own (see admin/lock.ts).
  const pool = new pg.Pool({
    connectionString: maintenanceUrl,
    max: 2,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 10_000,
  });
  pool.on('error', (error) => logger.debug(`Maintenance connection lost: ${maskSecrets(error.message)}`));
  const conn: AdminConnection = {
    url,
    databaseName: databaseNameOf(url),
    maintenanceUrl,
    logger,
    query: (sql, params = []) => pool.query(sql, params),
  };
  return {
    ...databaseInfo(conn),
    ...databaseCopies(conn),
    ...readOnlySwitch(conn),
    ...databaseLock(conn),
    close: () => pool.end(),
  };
}
