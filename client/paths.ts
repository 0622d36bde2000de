// Where the client keeps its files: $XDG_CONFIG_HOME/bomnipotent, else ~/.config/bomnipotent.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function clientConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.trim() !== ''
      ? env.XDG_CONFIG_HOME
      : join(homedir(), '.config');
  return join(base, 'bomnipotent');
}
