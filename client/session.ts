// session.toml in the client's config folder: global options stored by `session login`, read before every call.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { CLIENT_LOG_LEVELS, OUTPUT_MODES, type GlobalOptions } from './options';
import { clientConfigDir } from './paths';

/** The file's keys, in TOML and in the JSON of `session status json`. */
const KEYS = [
  ['domain', 'domain'],
  ['user', 'user'],
  ['secretKey', 'secret_key'],
  ['outputMode', 'output_mode'],
  ['logLevel', 'log_level'],
  ['logFile', 'log_file'],
] as const satisfies readonly (readonly [keyof GlobalOptions, string])[];

export function sessionPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(clientConfigDir(env), 'session.toml');
}

export type SessionData = Partial<Record<(typeof KEYS)[number][1], string>>;

function broken(path: string, why: string): Error {
  return new Error(
    `The session file "${path}" is broken (${why}): fix it or run \`bomnipotent_client session logout\`.`,
  );
}

export function readSessionData(env: NodeJS.ProcessEnv = process.env): SessionData | undefined {
  const path = sessionPath(env);
  if (!existsSync(path)) return undefined;
  let table: Record<string, unknown>;
  try {
    table = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw broken(path, error instanceof Error ? error.message.split('\n', 1)[0]! : 'unreadable');
  }
  const data: SessionData = {};
  const known = new Set<string>(KEYS.map(([, key]) => key));
  for (const [key, value] of Object.entries(table)) {
    if (!known.has(key)) throw broken(path, `unknown key "${key}"`);
    if (typeof value !== 'string') throw broken(path, `"${key}" is not a string`);
    data[key as keyof SessionData] = value;
  }
  if (data.output_mode !== undefined && !(OUTPUT_MODES as readonly string[]).includes(data.output_mode)) {
    throw broken(path, `output_mode must be one of ${OUTPUT_MODES.join(', ')}`);
  }
  if (data.log_level !== undefined && !(CLIENT_LOG_LEVELS as readonly string[]).includes(data.log_level)) {
    throw broken(path, `log_level must be one of ${CLIENT_LOG_LEVELS.join(', ')}`);
  }
  return data;
}

export function readSession(env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  const data = readSessionData(env) ?? {};
  const options: Record<string, string> = {};
  for (const [option, key] of KEYS) if (data[key] !== undefined) options[option] = data[key];
  // output_mode and log_level were checked against their choices by readSessionData.
  return options;
}

/** Writes the given options (relative paths made absolute, so the session works from any directory); returns the file. */
export function writeSession(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string {
  const data: SessionData = {};
  for (const [option, key] of KEYS) {
    const value = options[option];
    if (value === undefined) continue;
    data[key] = option === 'secretKey' || option === 'logFile' ? resolve(cwd, value) : value;
  }
  if (Object.keys(data).length === 0) {
    throw new Error(
      'Nothing to store: give global options before `session login`, e.g. `-d <server> -u <email> session login`.',
    );
  }
  const path = sessionPath(env);
  mkdirSync(clientConfigDir(env), { recursive: true, mode: 0o700 });
  writeFileSync(path, stringify(data) + '\n', { mode: 0o600 });
  return path;
}

export function removeSession(env: NodeJS.ProcessEnv = process.env): boolean {
  const path = sessionPath(env);
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}

export function formatSession(data: SessionData, format: 'toml' | 'json'): string {
  return format === 'json' ? JSON.stringify(data, null, 2) + '\n' : stringify(data) + '\n';
}
