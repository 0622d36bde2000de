// From a parsed TOML table to the frozen Config: schema checks, cross-key checks, paths resolved, one ConfigError for all problems.
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { BackupTaskSettings } from '../../handlers/backup/settings';
import { toOffsiteSettings } from './offsite-schema';
import {
  NOTIFY_KEYS,
  findNotifyProblems,
  notifySchema,
  toNotifyChannel,
  type NotifyInput,
} from './notify-schema';
import { registerSecret } from '../observability/mask';
import { DB_URL_FORM, findDbUrlProblem, registerDbUrlSecrets } from './db-url';
import { parseCidr } from './cidr';
import { ConfigError } from './errors';
import { deepFreeze } from './freeze';
import { configErrorMap, describeIssue, type IssueContext } from './issues';
import {
  BACKUP_TASK,
  TABLE_KEYS,
  TASK_KEYS,
  rootSchema,
  taskSchemaFor,
  type BackupTask,
  type GenericTask,
  type RootInput,
} from './schema';
import type { Config, TaskSettings } from './types';

type Task = GenericTask | BackupTask;

/** What the environment decides beside the file: where the backup-signing key lives when `signing_key` is not set. */
export interface ConfigEnvironment {
  /** BOMNIPOTENT_SIGNING_KEY: the key file (a mounted secret, or generated there on first start). */
  signingKeyPath?: string | undefined;
}

export function validateConfig(
  raw: Record<string, unknown>,
  file: string,
  environment: ConfigEnvironment = {},
): Config {
  if (typeof raw.db_url === 'string') registerDbUrlSecrets(raw.db_url);
  const rawTasks = Array.isArray(raw.tasks) ? (raw.tasks as unknown[]) : [];
  for (const task of rawTasks) {
    registerSecret(readString(task, 'executor_token'));
    registerUrlPath(readString(task, 'heartbeat_url')); // the monitor's token is the path
  }
  const rawNotify = Array.isArray(raw.notify) ? (raw.notify as unknown[]) : [];
  for (const entry of rawNotify) registerNotifySecrets(entry);

  const problems: string[] = [];
  const context = issueContext(rawTasks);
  const report = (issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []) => {
    for (const issue of issues)
      problems.push(describeIssue({ ...issue, path: [...prefix, ...issue.path] }, context));
  };

  const root = rootSchema.safeParse(raw, { error: configErrorMap });
  if (!root.success) report(root.error.issues);

  const tasks: Task[] = [];
  rawTasks.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) return; // reported by the root schema
    const parsed = taskSchemaFor((entry as { name?: unknown }).name).safeParse(entry, {
      error: configErrorMap,
    });
    if (parsed.success) tasks.push(parsed.data);
    else report(parsed.error.issues, ['tasks', index]);
  });
  problems.push(...findDuplicateTasks(tasks));

  const notify: { entry: NotifyInput; index: number }[] = [];
  rawNotify.forEach((entry, index) => {
    if (typeof entry !== 'object' || entry === null) return; // reported by the root schema
    const parsed = notifySchema.safeParse(entry, { error: configErrorMap });
    if (!parsed.success) return report(parsed.error.issues, ['notify', index]);
    const found = findNotifyProblems(parsed.data);
    for (const problem of found) problems.push(`notify[${index}].${problem}`);
    if (found.length === 0) notify.push({ entry: parsed.data, index });
  });

  if (root.success) problems.push(...findCrossKeyProblems(root.data));

  if (problems.length > 0 || !root.success) {
    const sentences = problems.map((problem) => problem.replace(/\.$/, '') + '.');
    const body = sentences.length === 1 ? ` ${sentences[0]}` : `\n  - ${sentences.join('\n  - ')}`;
    throw new ConfigError(`Invalid configuration in "${file}":${body}`);
  }
  return deepFreeze(toConfig(root.data, tasks, notify, file, environment));
}

function readString(value: unknown, key: string): string | undefined {
  const field =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof field === 'string' ? field : undefined;
}

/** The URL (chat webhooks carry a token in it), its password (smtp://) and the secret never reach a log line. */
function registerNotifySecrets(entry: unknown): void {
  registerSecret(readString(entry, 'secret'));
  const url = readString(entry, 'url');
  if (url === undefined) return;
  registerDbUrlSecrets(url);
  registerUrlPath(url); // a chat webhook's path is its token
}

/** The path of an http(s) URL that carries a token in it; short paths ("/hook") are no secret and would mask too much. */
function registerUrlPath(url: string | undefined): void {
  const path = url?.replace(/^https?:\/\/[^/]*/, '');
  if (url !== undefined && /^https?:/.test(url) && path !== undefined && path.length >= 12)
    registerSecret(path);
}

function issueContext(rawTasks: unknown[]): IssueContext {
  return {
    acceptedKeys(path) {
      const [section, index] = path;
      if (section === 'notify') return { keys: NOTIFY_KEYS, table: '[[notify]]' };
      if (section === 'tasks' && typeof index === 'number') {
        const name = readString(rawTasks[index], 'name');
        if (name === BACKUP_TASK)
          return { keys: TASK_KEYS[BACKUP_TASK], table: `[[tasks]] with name = "${name}"` };
        const known = `not a task this server knows; known: ${BACKUP_TASK}`;
        const table = name === undefined ? '[[tasks]]' : `[[tasks]] with name = "${name}" (${known})`;
        return { keys: TASK_KEYS.generic, table };
      }
      const table = typeof section === 'string' ? section : '';
      return { keys: TABLE_KEYS[table] ?? [], table: table === '' ? 'the top level' : `[${table}]` };
    },
  };
}

function findDuplicateTasks(tasks: Task[]): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const task of tasks) {
    if (seen.has(task.name)) problems.push(`the task "${task.name}" appears twice in [[tasks]]: keep one`);
    seen.add(task.name);
  }
  return problems;
}

function findCrossKeyProblems(root: RootInput): string[] {
  const problems: string[] = [];
  if (root.db_url !== undefined) {
    const problem = findDbUrlProblem(root.db_url);
    if (problem) problems.push(`db_url must look like "${DB_URL_FORM}": ${problem}`);
  }
  problems.push(...findAddressProblems(root));
  const inline = root.user.tmp_admin?.includes(':SHA256:') ?? false;
  if (inline && root.user.tmp_admin_key !== undefined) {
    problems.push('[user] tmp_admin names a key and tmp_admin_key is set too: keep one of them');
  }
  if (root.user.tmp_admin !== undefined && !inline && root.user.tmp_admin_key === undefined) {
    problems.push(
      `[user] tmp_admin names only an email, which gives admin powers to whoever requested it first: name the key too, tmp_admin = "${root.user.tmp_admin}:SHA256:..." with the fingerprint \`bomnipotent_client user request\` printed`,
    );
  }
  if (root.user.tmp_admin_key !== undefined && root.user.tmp_admin === undefined) {
    problems.push('[user] tmp_admin_key is set without tmp_admin: set tmp_admin to the email it belongs to');
  }
  if (root.https_port !== undefined && root.tls === undefined) {
    problems.push(
      'https_port is set but there is no [tls] section: add [tls] with certificate_chain_path and secret_key_path, or remove https_port',
    );
  }
  return problems;
}

function findAddressProblems(root: RootInput): string[] {
  const problems: string[] = [];
  for (const [key, value] of [
    ['listen_address', root.listen_address],
    ['https_listen_address', root.https_listen_address],
  ] as const) {
    if (value !== undefined && isIP(value) === 0) {
      problems.push(
        `${key} "${value}" is not an IP address: use "127.0.0.1" (this machine) or "0.0.0.0" (all)`,
      );
    }
  }
  for (const entry of root.trusted_proxies) {
    if (parseCidr(entry) === null) {
      problems.push(
        `trusted_proxies entry "${entry}" is neither an address nor a CIDR range like "10.0.0.0/8" or "fd00::/8"`,
      );
    }
  }
  return problems;
}

function splitTmpAdmin(
  value: string | undefined,
  key: string | undefined,
): { tmpAdmin: string | undefined; tmpAdminKey: string | undefined } {
  if (value === undefined) return { tmpAdmin: undefined, tmpAdminKey: undefined };
  const at = value.indexOf(':');
  if (at < 0) return { tmpAdmin: value, tmpAdminKey: key };
  return { tmpAdmin: value.slice(0, at), tmpAdminKey: value.slice(at + 1) };
}

function toConfig(
  root: RootInput,
  tasks: Task[],
  notify: { entry: NotifyInput; index: number }[],
  file: string,
  environment: ConfigEnvironment,
): Config {
  const dir = dirname(file);
  const at = (path: string) => resolve(dir, path);
  const backup = tasks.find((task): task is BackupTask => task.name === BACKUP_TASK);
  return {
    path: file,
    dbUrl: root.db_url,
    embeddedDb: { dataDirectory: at(root.embedded_db.data_directory), port: root.embedded_db.port },
    domain: root.domain,
    statusPage: root.status_page,
    listenAddress: root.listen_address,
    httpsListenAddress: root.https_listen_address ?? root.listen_address,
    httpPort: root.http_port ?? (root.tls ? undefined : 8080),
    httpsPort: root.https_port ?? 8443,
    tls: root.tls && {
      certificateChainPath: at(root.tls.certificate_chain_path),
      secretKeyPath: at(root.tls.secret_key_path),
    },
    log: { level: root.log.level, file: root.log.file === undefined ? undefined : at(root.log.file) },
    trustedProxies: root.trusted_proxies,
    user: {
      ...splitTmpAdmin(root.user.tmp_admin, root.user.tmp_admin_key),
      expirationPeriodMs: root.user.expiration_period,
    },
    dosPrevention: {
      limit: root.dos_prevention.limit,
      periodMs: root.dos_prevention.period,
      newUserLimit: root.dos_prevention.new_user_limit,
      newUserLimitPerAddress: root.dos_prevention.new_user_limit_per_address,
      bodyTimeoutMs: root.dos_prevention.body_timeout,
    },
    auth: { signatureWindowMs: root.auth.signature_window },
    tasks: tasks.map(toTaskSettings),
    databaseBackup: backup && toBackupSettings(backup, at, defaultSigningKey(dir, environment)),
    notify: notify.map(({ entry, index }) => toNotifyChannel(entry, index, at)),
  };
}

function toTaskSettings(task: Task): TaskSettings {
  return { name: task.name, periodMs: task.period, scheduled: task.scheduled ?? task.enabled ?? true };
}

/** Where the backup-signing key is generated when neither `signing_key` nor BOMNIPOTENT_SIGNING_KEY is set: next to the config file. */
export const DEFAULT_SIGNING_KEY = 'backup-signing-key.pem';

/** BOMNIPOTENT_SIGNING_KEY (relative to the working directory), else next to the config file; generated when missing. */
function defaultSigningKey(dir: string, environment: ConfigEnvironment): string {
  const fromEnv = environment.signingKeyPath?.trim();
  return fromEnv ? resolve(fromEnv) : resolve(dir, DEFAULT_SIGNING_KEY);
}

function toBackupSettings(
  task: BackupTask,
  at: (path: string) => string,
  defaultKey: string,
): BackupTaskSettings {
  return {
    directory: at(task.directory),
    periodMs: task.period,
    scheduled: task.scheduled ?? task.enabled ?? true,
    keep: task.keep ?? null,
    keepOldDatabase: task.keep_old_database,
    rehearse: task.rehearse,
    verifyAfterBackup: task.verify_after_backup,
    executor:
      task.executor === 'sidecar'
        ? { kind: 'sidecar', url: task.executor_url!, token: task.executor_token! }
        : { kind: 'local' },
    signingKey: task.signing_key
      ? { path: at(task.signing_key), generate: false }
      : { path: defaultKey, generate: true },
    trustedKeys: task.trusted_keys,
    compression: task.compression,
    encryptionRecipients: task.encryption_recipients,
    encryptionIdentityFile:
      task.encryption_identity_file === undefined ? undefined : at(task.encryption_identity_file),
    offsite: toOffsiteSettings(task),
    heartbeatUrl: task.heartbeat_url ?? null,
    continuous: task.continuous
      ? {
          slot: task.replication_slot,
          baseBackupPeriodMs: task.base_backup_period,
          sealIntervalMs: task.seal_interval,
          tailIntervalMs: task.tail_interval,
          maxHeldWalBytes: task.max_held_wal,
          pitrWindowMs: task.pitr_window ?? null,
        }
      : undefined,
  };
}
