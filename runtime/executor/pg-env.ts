// The tools' environment: connection settings from db_url as PG* variables, the password in a private 0600 passfile.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from '../observability/mask';

export interface PgConnection {
  host: string | null;
  port: string | null;
  user: string | null;
  password: string | null;
  database: string;
  /** libpq settings from the query string, already as environment variables (PGSSLMODE ...). */
  extra: Record<string, string>;
}

// Query parameters libpq understands, mapped to the variable that carries each without touching argv.
const PARAM_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslrootcert: 'PGSSLROOTCERT',
  sslcrl: 'PGSSLCRL',
  gssencmode: 'PGGSSENCMODE',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  options: 'PGOPTIONS',
  channel_binding: 'PGCHANNELBINDING',
};

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Splits a postgres:// URL into its parts; the password is registered as a secret on the way. */
export function parsePostgresUrl(dbUrl: string): PgConnection {
  const url = new URL(dbUrl);
  const params = url.searchParams;
  // postgres: is not a "special" scheme, so the host stays percent-encoded (a socket directory as %2Fvar%2Frun...).
  let host = url.hostname === '' ? null : decode(url.hostname).replace(/^\[(.*)\]$/, '$1');
  let port = url.port === '' ? null : url.port;
  let user = url.username === '' ? null : decode(url.username);
  let password = url.password === '' ? null : decode(url.password);
  let database = decode(url.pathname.replace(/^\//, ''));
  const extra: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key === 'host') host = value;
    else if (key === 'port') port = value;
    else if (key === 'user') user = value;
    else if (key === 'password') password = value;
    else if (key === 'dbname') database = value;
    else if (key === 'ssl' && (value === 'true' || value === '1') && !params.has('sslmode'))
      extra.PGSSLMODE = 'require';
    else {
      const variable = PARAM_ENV[key];
      if (variable) extra[variable] = value;
    }
  }
  if (password !== null) {
    registerSecret(password);
    registerSecret(encodeURIComponent(password));
  }
  return { host, port, user, password, database, extra };
}

/** The few variables a tool needs from our own environment; nothing else is inherited (no stray PG* settings). */
export function baseEnvironment(source: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (
      key === 'PATH' ||
      key === 'LANG' ||
      key === 'TZ' ||
      key === 'HOME' ||
      key === 'TMPDIR' ||
      key.startsWith('LC_')
    ) {
      env[key] = value;
    }
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}

export interface ToolEnvironment {
  env: Record<string, string>;
  /** Removes the passfile; call it when the tools are done. */
  dispose(): Promise<void>;
}

/** A passfile line: every field is a wildcard (the file exists for this one run), `\` and `:` escaped. */
export function passfileLine(password: string): string {
  return `*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`;
}

export const PASSFILE_DIR_PREFIX = 'bomnipotent-pg-';

/**
 * Builds the environment for the tools of one operation. `database` null leaves PGDATABASE unset (createdb and
 * dropdb get their database as an argument and connect to the maintenance database).
 */
export async function prepareToolEnvironment(
  connection: PgConnection,
  source: NodeJS.ProcessEnv,
  database: string | null,
): Promise<ToolEnvironment> {
  const env = baseEnvironment(source);
  if (connection.host !== null) env.PGHOST = connection.host;
  if (connection.port !== null) env.PGPORT = connection.port;
  if (connection.user !== null) env.PGUSER = connection.user;
  if (database !== null) env.PGDATABASE = database;
  Object.assign(env, connection.extra);
  // A dead host must not hang a backup forever.
  env.PGCONNECT_TIMEOUT ??= '30';
  if (connection.password === null) return { env, dispose: async () => {} };

  // mkdtemp makes the directory 0700; libpq ignores a passfile readable by others, so 0600 it is.
  // The pid in the name lets a later start sweep the folders of a process that was killed (runtime/start-checks.ts).
  const directory = await mkdtemp(join(source.TMPDIR ?? tmpdir(), `${PASSFILE_DIR_PREFIX}${process.pid}-`));
  const passfile = join(directory, 'pgpass');
  await writeFile(passfile, passfileLine(connection.password), { mode: 0o600, flag: 'wx' });
  env.PGPASSFILE = passfile;
  return { env, dispose: () => rm(directory, { recursive: true, force: true }) };
}
