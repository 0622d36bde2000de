// The executor sidecar's settings, read from its environment (it has no config file: a container gets env and secrets).
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { LogLevel } from '../../handlers/ports/logger';
import { parseOffsiteLocation } from '../../handlers/offsite/location';
import type { SidecarOffsite } from './offsite-transfer';
import { MIN_TOKEN_LENGTH } from './auth';

export const SIDECAR_ENV = {
  dbUrl: 'BOMNIPOTENT_EXECUTOR_DB_URL',
  token: 'BOMNIPOTENT_EXECUTOR_TOKEN',
  tokenFile: 'BOMNIPOTENT_EXECUTOR_TOKEN_FILE',
  directory: 'BOMNIPOTENT_EXECUTOR_DIRECTORY',
  host: 'BOMNIPOTENT_EXECUTOR_HOST',
  port: 'BOMNIPOTENT_EXECUTOR_PORT',
  logLevel: 'BOMNIPOTENT_EXECUTOR_LOG_LEVEL',
  toolDirectory: 'BOMNIPOTENT_EXECUTOR_TOOL_DIRECTORY',
  offsite: 'BOMNIPOTENT_EXECUTOR_OFFSITE',
  s3Endpoint: 'BOMNIPOTENT_EXECUTOR_S3_ENDPOINT',
  s3Region: 'BOMNIPOTENT_EXECUTOR_S3_REGION',
  s3ForcePathStyle: 'BOMNIPOTENT_EXECUTOR_S3_FORCE_PATH_STYLE',
  trustedKeys: 'BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS',
  allowUnsigned: 'BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED',
} as const;

export const SIDECAR_DEFAULTS = {
  host: '127.0.0.1',
  port: 8091,
  directory: '/etc/bomnipotent_server/backups',
  logLevel: 'info' as LogLevel,
};

export interface SidecarSettings {
  dbUrl: string;
  database: string;
  token: string;
  directory: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Where pg_dump, psql, createdb and dropdb are; undefined searches /usr/lib/postgresql/<major>/bin and PATH. */
  toolDirectory: string | undefined;
  /** The only off-site store this sidecar copies to (its own settings, never the request's); undefined: none. */
  offsite: SidecarOffsite | undefined;
  /**
   * The public keys whose backups this sidecar trusts (its own settings, never the request's); undefined: it takes
   * its caller's, and says so at start.
   */
  trustedKeys: string[] | undefined;
  /** Whether it restores a file that is not trusted when its caller asks to (default false: refused). */
  allowUnsigned: boolean;
}

export class SidecarSettingsError extends Error {
  override name = 'SidecarSettingsError';
}

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

export function readSidecarSettings(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): SidecarSettings {
  const dbUrl = env[SIDECAR_ENV.dbUrl]?.trim();
  if (!dbUrl)
    throw new SidecarSettingsError(
      `Set ${SIDECAR_ENV.dbUrl} to postgres://<user>:<password>@<host>:<port>/<database>.`,
    );
  const database = databaseOf(dbUrl);

  const token = readToken(env, readFile);
  const directory = env[SIDECAR_ENV.directory]?.trim() || SIDECAR_DEFAULTS.directory;
  if (!isAbsolute(directory))
    throw new SidecarSettingsError(`${SIDECAR_ENV.directory} must be an absolute path, not '${directory}'.`);

  const portText = env[SIDECAR_ENV.port]?.trim();
  const port = portText ? Number(portText) : SIDECAR_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.port} must be a port number (0 picks a free one), not '${portText}'.`,
    );
  }
  const level = (env[SIDECAR_ENV.logLevel]?.trim() || SIDECAR_DEFAULTS.logLevel) as LogLevel;
  if (!LEVELS.includes(level))
    throw new SidecarSettingsError(`${SIDECAR_ENV.logLevel} must be one of ${LEVELS.join(', ')}.`);

  return {
    dbUrl,
    database,
    token,
    directory: resolve(directory),
    host: env[SIDECAR_ENV.host]?.trim() || SIDECAR_DEFAULTS.host,
    port,
    logLevel: level,
    toolDirectory: env[SIDECAR_ENV.toolDirectory]?.trim() || undefined,
    offsite: readOffsite(env),
    trustedKeys: readTrustedKeys(env),
    allowUnsigned: readBoolean(env, SIDECAR_ENV.allowUnsigned),
  };
}

const PUBLIC_KEY = /^ed25519:[A-Za-z0-9+/]{43}=$/;

function readTrustedKeys(env: Record<string, string | undefined>): string[] | undefined {
  const text = env[SIDECAR_ENV.trustedKeys]?.trim();
  if (!text) return undefined;
  const keys = text.split(/[\s,]+/).filter((key) => key !== '');
  const bad = keys.find((key) => !PUBLIC_KEY.test(key));
  if (bad !== undefined)
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.trustedKeys} holds '${bad.slice(0, 60)}', which is not a public key like ed25519:<base64>: ` +
        "list the server's backup-signing public key and the trusted_keys of its config, separated by spaces or commas.",
    );
  return keys;
}

function readBoolean(env: Record<string, string | undefined>, name: string): boolean {
  const text = env[name]?.trim().toLowerCase() || 'false';
  if (text !== 'true' && text !== 'false')
    throw new SidecarSettingsError(`${name} must be true or false, not '${text}'.`);
  return text === 'true';
}

function readOffsite(env: Record<string, string | undefined>): SidecarOffsite | undefined {
  const text = env[SIDECAR_ENV.offsite]?.trim();
  const endpoint = env[SIDECAR_ENV.s3Endpoint]?.trim() || null;
  const region = env[SIDECAR_ENV.s3Region]?.trim() || null;
  const pathStyle = env[SIDECAR_ENV.s3ForcePathStyle]?.trim().toLowerCase() || 'false';
  if (!text) {
    const stray = [SIDECAR_ENV.s3Endpoint, SIDECAR_ENV.s3Region, SIDECAR_ENV.s3ForcePathStyle].find((name) =>
      env[name]?.trim(),
    );
    if (stray)
      throw new SidecarSettingsError(
        `${stray} is only used with ${SIDECAR_ENV.offsite}="s3://<bucket>/<prefix>": set it or remove ${stray}.`,
      );
    return undefined;
  }
  const location = parseOffsiteLocation(text);
  if (typeof location === 'string') throw new SidecarSettingsError(`${SIDECAR_ENV.offsite} ${location}.`);
  if (endpoint !== null && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.s3Endpoint} must be an http(s) URL such as https://minio.example:9000, not '${endpoint}'.`,
    );
  }
  if (pathStyle !== 'true' && pathStyle !== 'false')
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.s3ForcePathStyle} must be true or false, not '${pathStyle}'.`,
    );
  return { ...location, endpoint, region, forcePathStyle: pathStyle === 'true' };
}

function readToken(env: Record<string, string | undefined>, readFile: (path: string) => string): string {
  const file = env[SIDECAR_ENV.tokenFile]?.trim();
  let token = env[SIDECAR_ENV.token]?.trim();
  if (!token && file) {
    try {
      token = readFile(file).trim();
    } catch (error) {
      throw new SidecarSettingsError(
        `Cannot read ${SIDECAR_ENV.tokenFile} '${file}': ${(error as Error).message}.`,
      );
    }
  }
  if (!token)
    throw new SidecarSettingsError(
      `Set ${SIDECAR_ENV.token} (or ${SIDECAR_ENV.tokenFile}) to a shared secret of at least ${MIN_TOKEN_LENGTH} characters; the server's executor_token must hold the same value.`,
    );
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SidecarSettingsError(
      `The executor token is too short: it needs at least ${MIN_TOKEN_LENGTH} characters (for example: openssl rand -hex 32).`,
    );
  }
  return token;
}

function databaseOf(dbUrl: string): string {
  let url: URL;
  try {
    url = new URL(dbUrl);
  } catch {
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.dbUrl} is not a URL; it must look like postgres://<user>:<password>@<host>:<port>/<database>.`,
    );
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^postgres(ql)?:$/.test(url.protocol) || !database) {
    throw new SidecarSettingsError(
      `${SIDECAR_ENV.dbUrl} must look like postgres://<user>:<password>@<host>:<port>/<database>.`,
    );
  }
  return database;
}
