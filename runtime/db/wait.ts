// Waits for the database at start-up with exponential backoff, logging the server's URL masked, then `Database is ready.`.
import pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';
import { maskUrl } from '../observability/mask';

export interface WaitOptions {
  timeoutMs?: number; // total, default 60 s
  firstDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** The database the server will use, named in the first line when the wait goes through another (the maintenance
   * database): an admin reads which database the server works on, not the one it knocks at first. */
  serves?: string;
}

export class DatabaseUnreachableError extends Error {}

export async function waitForDatabase(url: string, logger: Logger, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const started = Date.now();
  let delay = options.firstDelayMs ?? 250;
  logger.info(
    options.serves && options.serves !== url
      ? `Connecting to the database at ${maskUrl(options.serves)} (through its maintenance database '${new URL(url).pathname.slice(1)}' first).`
      : `Connecting to the database at ${maskUrl(url)}.`,
  );
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      logger.info('Database is ready.');
      return;
    } catch (error) {
      const reason = describe(error);
      if (permanent(error))
        throw new DatabaseUnreachableError(`Cannot use the database at ${maskUrl(url)}: ${reason}`);
      if (Date.now() - started + delay > timeoutMs) {
        throw new DatabaseUnreachableError(
          `The database at ${maskUrl(url)} is not reachable after ${Math.round((Date.now() - started) / 1000)} s (${reason}). ` +
            'Check that PostgreSQL runs and that db_url names the right host, port and database.',
        );
      }
      logger.warn(`Database not ready (attempt ${attempt}: ${reason}); retrying in ${delay} ms.`);
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** Errors that waiting will not fix: wrong password, unknown database or role. */
function permanent(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '28P01' || code === '28000' || code === '3D000';
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e.code === '3D000')
    return `${e.message ?? 'the database does not exist'}; create it first (createdb) or fix db_url`;
  if (e.code === '28P01' || e.code === '28000')
    return 'authentication failed; check the user and password in db_url';
  return e.code ?? e.message ?? String(error);
}
