// loadConfig: read config.toml and its .env, substitute ${NAME}, parse the TOML, validate into a frozen Config.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { mergeEnv, parseDotenv, dotenvPath, substituteEnv, type Env } from './env';
import { ConfigError } from './errors';
import { parseToml } from './toml';
import type { Config } from './types';
import { validateConfig } from './validate';

/** The raw inputs of one load; the watcher compares them to skip reloads of unchanged files. */
export interface ConfigSources {
  file: string; // absolute
  text: string;
  dotenvText: string; // '' when there is no .env
}

export function readConfigSources(path: string): ConfigSources {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'the file does not exist' : (error as Error).message;
    throw new ConfigError(
      `Cannot read the configuration file "${file}": ${reason}. Pass --config PATH or set BOMNIPOTENT_CONFIG.`,
      { cause: error },
    );
  }
  return { file, text, dotenvText: readOptional(dotenvPath(file)) };
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new ConfigError(`Cannot read "${file}": ${(error as Error).message}.`, { cause: error });
  }
}

/** env is the real environment; it wins over .env, so that a deployment can override a file shipped with the config. */
export function parseConfig(sources: ConfigSources, env: Env): Config {
  const dotenv = parseDotenv(sources.dotenvText, dotenvPath(sources.file));
  const merged = mergeEnv(dotenv, env);
  const text = substituteEnv(sources.text, merged, sources.file);
  return validateConfig(parseToml(text, sources.file), sources.file, {
    signingKeyPath: merged.BOMNIPOTENT_SIGNING_KEY,
  });
}

export function loadConfig(path: string, env: Env = process.env): Config {
  return parseConfig(readConfigSources(path), env);
}
