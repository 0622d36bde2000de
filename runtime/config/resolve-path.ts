// Which config file the server reads: --config, else BOMNIPOTENT_CONFIG, else the system-wide default.
import { resolve } from 'node:path';
import type { Env } from './env';

export const DEFAULT_CONFIG_PATH = '/etc/bomnipotent_server/configs/config.toml';

/** An absolute path; relative ones are taken against the working directory. */
export function resolveConfigPath(argvPath?: string, env: Env = process.env): string {
  const chosen = argvPath || env.BOMNIPOTENT_CONFIG || DEFAULT_CONFIG_PATH;
  return resolve(chosen);
}
