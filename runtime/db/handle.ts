// The server's access to its database: a pg pool behind a handle, so a restore can drain and reopen it underneath.
import pg from 'pg';
import { AppError } from '../../handlers/errors';
import { sessionEnded } from './session-ended';

export interface DbHandle {
  readonly url: string; // secret: never log it unmasked
  readonly databaseName: string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params?: unknown[],
  ): Promise<pg.QueryResult<T>>;
  /** Runs fn in one transaction on one connection; rolls back when fn throws. */
  transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /**
   * Like transaction, but READ WRITE even while a restore holds the database read-only (default_transaction_read_only,
   * see DatabaseAdmin.refuseWrites). Only for the server's own records that the restore writes itself or carries over
   * into the restored database (seen signatures, operations, migrations, the carry-over): never for a request's data,
   * which must be refused then, on every replica.
   */
  writeThroughReadOnly<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** The current pool (replaced by reopen()); prefer query/transaction. */
  pool(): pg.Pool;
  /** Waits for running queries, closes every connection; queries until reopen() fail with DB.DRAINED. */
  drain(): Promise<void>;
  reopen(): void;
  close(): Promise<void>;
}

const PLAIN_READ = /^\s*SELECT\b/i;

export function databaseNameOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error('The database URL names no database.');
  return name;
}

export function createDbHandle(url: string, options: { max?: number } = {}): DbHandle {
  const makePool = () => {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its connection (e.g. terminated by a restore) must not crash the process.
    pool.on('error', () => {});
    // Nor one checked out between two statements of a transaction: its next statement fails instead (answered 503).
    pool.on('connect', (client) => client.on('error', () => {}));
    return pool;
  };
  let current: pg.Pool | null = makePool();
  const active = (): pg.Pool => {
    if (!current) {
      throw new AppError('DB.DRAINED', 'unavailable', 'The database is being replaced by a restore.', {
        suggestion: 'Try again in a few seconds.',
        retryAfterSeconds: 1,
      });
    }
    return current;
  };
  return {
    url,
    databaseName: databaseNameOf(url),
    async query(sql, params) {
      try {
        return await active().query(sql, params);
      } catch (error) {
        // A restore ends every session at its start and its end (see DatabaseAdmin.refuseWrites): a plain read that
        // was cut is asked again on a fresh connection. Never a write: it may have committed before the cut.
        if (!PLAIN_READ.test(sql) || !sessionEnded(error)) throw error;
        return active().query(sql, params);
      }
    },
    transaction: (fn) => inTransaction(active(), 'BEGIN', fn),
    writeThroughReadOnly: (fn) => inTransaction(active(), 'BEGIN READ WRITE', fn),
    pool: active,
    async drain() {
      const pool = current;
      current = null;
      if (pool) await pool.end();
    },
    reopen() {
      if (!current) current = makePool();
    },
    async close() {
      const pool = current;
      current = null;
      if (pool) await pool.end();
    },
  };
}

async function inTransaction<T>(
  pool: pg.Pool,
  begin: 'BEGIN' | 'BEGIN READ WRITE',
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
