// Checks at start that cost nothing and catch leaks: files others can read, and password files that a killed run
// of the pg tools left behind.
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../handlers/ports/logger';
import type { Config } from '../config/types';
import { dotenvPath } from '../config/env';
import { containsRegisteredSecret } from '../observability/mask';
import { AUDIT_LOG } from '../executor/catalog';
import { PASSFILE_DIR_PREFIX } from '../executor/pg-env';

/** The paths worth a warning when group or others may read them, with what each holds. */
function sensitivePaths(config: Config): { path: string; what: string }[] {
  const paths = [{ path: dotenvPath(config.path), what: 'the .env beside the configuration' }];
  // A config that refers to its secrets as ${NAME} (the shipped example) is no more secret than the code: no warning.
  if (holdsSecret(config.path))
    paths.unshift({ path: config.path, what: 'the configuration, which holds a password or token' });
  if (config.log.file) paths.push({ path: config.log.file, what: 'the log file' });
  const backup = config.databaseBackup;
  if (backup) {
    paths.push({ path: backup.directory, what: 'the backup directory (every dump of the database)' });
    paths.push({ path: join(backup.directory, AUDIT_LOG), what: 'the audit log of backups and restores' });
  }
  return paths;
}

// A key whose value is a secret by its name; paths to secret files (secret_key_path) are not secrets themselves.
const SECRET_KEY = /^\s*[\w.-]*(password|token|secret)[\w.-]*\s*=\s*(.*)$/i;
const ONLY_REFERENCE = /^["']?\$\{\w+\}["']?\s*(#.*)?$/;
const URL_PASSWORD = /:\/\/[^:/@\s]*:([^@\s]+)@/;

/** True when the config file's own text (not its comments) holds a secret: a literal password in db_url, a literal
 * executor_token, or any key named like a secret whose value is not a ${NAME} reference. */
function holdsSecret(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const lines = text.split('\n').filter((line) => !/^\s*#/.test(line));
  return lines.some((line) => {
    if (containsRegisteredSecret(line)) return true;
    const password = URL_PASSWORD.exec(line)?.[1];
    if (password !== undefined && !/^\$\{\w+\}$/.test(password)) return true;
    const match = SECRET_KEY.exec(line);
    return match !== null && !/_(path|file)\s*=/i.test(line) && !ONLY_REFERENCE.test(match[2]!.trim());
  });
}

export function checkFileModes(config: Config, logger: Logger): void {
  for (const { path, what } of sensitivePaths(config)) {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue; // not there (yet): created private later, or reported by whoever needs it
    }
    if ((mode & 0o077) !== 0) {
      const fix = (mode & 0o040000) !== 0 ? 'chmod 700' : 'chmod 600';
      logger.warn(
        `"${path}" (${what}) can be read by group or others (mode ${(mode & 0o777).toString(8)}): \`${fix} "${path}"\`.`,
      );
    }
  }
}

/** Whether a process of this pid exists (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes passfile folders of processes that are gone (killed mid-dump); live ones belong to running tools. */
export async function sweepLeftoverPassfiles(env: NodeJS.ProcessEnv, logger: Logger): Promise<number> {
  const root = env.TMPDIR ?? tmpdir();
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    // Only "<prefix><pid>-<mkdtemp suffix>": folders named otherwise are not ours to judge.
    const match = /^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(PASSFILE_DIR_PREFIX.length));
    if (!name.startsWith(PASSFILE_DIR_PREFIX) || !match) continue;
    const pid = Number(match[1]);
    if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
      removed += 1;
    } catch {
      // someone else's folder we may not remove: leave it
    }
  }
  if (removed > 0)
    logger.warn(`Removed ${removed} password file(s) left by killed pg tool runs in "${root}".`);
  return removed;
}
