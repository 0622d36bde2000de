// A private, temporary PostgreSQL instance for point-in-time recovery: a data directory recovered from a base backup,
// reachable only through a Unix socket in its own folder (mode 0700, socket 0700, no TCP), where only this process's
// OS user gets in, and only as db_url's role (peer authentication through a one-line map; no password, no other
// role; trust for that role alone when this uid has no passwd entry, which peer needs); run as `postgres` when this
// process is root (postgres refuses root). Started with recovery.signal, waited for until it has promoted at the
// target; stopped and removed.
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { AppError } from '../../handlers/errors';
import type { Clock } from '../../handlers/ports/clock';

const run = promisify(execFile);
export const INSTANCE_PORT = 5432; // only the socket's name: TCP is off and the socket folder is private

/** The server binaries of one major: Debian's /usr/lib/postgresql/<major>/bin. */
export function serverBinaries(major: number): string {
  return `/usr/lib/postgresql/${major}/bin`;
}

/** A name as pg_hba.conf and pg_ident.conf read it: quoted, so that no role name is a keyword or a pattern. */
function hbaName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function asPostgres(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

export interface RecoveryInstance {
  /** Starts it and waits until recovery has ended and the instance accepts writes (promoted). */
  recover(): Promise<void>;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  root: string;
  data: string;
  walDirectory: string;
  major: number;
  targetTime: string | null;
  /** Replay the records before this WAL position, then promote (wins over targetTime). */
  targetLsn?: string | null;
  /** A role of the recovered cluster to check the promotion with (the one of db_url). */
  user: string;
  clock: Clock;
  /** This process's OS user name (default: looked up; null when its uid has no passwd entry). */
  osUser?: string | null;
}

/** This process's OS user name, or null when its uid has no passwd entry (a container run with an arbitrary uid). */
export function osUserName(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/**
 * Settings over whatever the base backup brought (postgresql.auto.conf wins): no TCP, the private socket, WAL from
 * `walDirectory`, the target (or none: replay all the WAL given), then promote.
 */
export async function prepareInstance(options: InstanceOptions): Promise<RecoveryInstance> {
  const { root, data } = options;
  await writeRecoverySettings(options);
  const ids = await asPostgres();
  if (ids) await run('chown', ['-R', `${ids.uid}:${ids.gid}`, root]);
  const as = ids ? { uid: ids.uid, gid: ids.gid } : {};
  const pgCtl = join(serverBinaries(options.major), 'pg_ctl');
  const log = join(root, 'instance.log');

  const failure = (what: string) => recoveryFailure(log, what);
  return {
    async recover() {
      try {
        await run(pgCtl, ['-D', data, '-l', log, '-w', '-t', '3600', 'start'], as);
      } catch {
        throw await failure('did not start');
      }
      const client = () =>
        new pg.Client({ host: root, port: INSTANCE_PORT, user: options.user, database: 'postgres' });
      for (;;) {
        const status = await run(pgCtl, ['-D', data, 'status'], as).then(
          () => 'running',
          () => 'stopped',
        );
        if (status === 'stopped') throw await failure('stopped during recovery');
        const c = client();
        const promoted = await c
          .connect()
          .then(() => c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'))
          .then((r) => r.rows[0]?.r === false)
          .catch(() => false)
          .finally(() => c.end().catch(() => {}));
        if (promoted) return;
        await options.clock.sleep(200);
      }
    },
    async stop() {
      await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], as).catch(() => {});
    },
  };
}

/** The recovery settings, the peer-only access for this process's user, and recovery.signal, into the data directory. */
async function writeRecoverySettings(options: InstanceOptions): Promise<void> {
  const { root, data } = options;
  const conf = [
    "listen_addresses = ''",
    `port = ${INSTANCE_PORT}`,
    `unix_socket_directories = '${root}'`,
    'unix_socket_permissions = 0700',
    `hba_file = '${join(data, 'pg_hba.conf')}'`,
    `ident_file = '${join(data, 'pg_ident.conf')}'`,
    "shared_preload_libraries = ''",
    'archive_mode = off',
    'hot_standby = on',
    'logging_collector = off',
    `restore_command = 'cp "${options.walDirectory}/%f" "%p"'`,
    "recovery_target_action = 'promote'",
    ...(options.targetLsn
      ? [`recovery_target_lsn = '${options.targetLsn}'`, 'recovery_target_inclusive = off']
      : options.targetTime
        ? [`recovery_target_time = '${options.targetTime}'`, 'recovery_target_inclusive = on']
        : []),
  ];
  await writeFile(join(data, 'postgresql.conf'), '', { flag: 'a' });
  await appendFile(join(data, 'postgresql.auto.conf'), `\n${conf.join('\n')}\n`);
  const osUser = options.osUser === undefined ? osUserName() : options.osUser;
  // Peer authentication needs the connecting uid's name, which a uid without a passwd entry lacks: then trust, for
  // db_url's role only. The socket's folder and the socket are 0700, so only this uid (and root) reach it either way.
  const access = osUser === null ? 'trust' : 'peer map=recovery';
  await writeFile(join(data, 'pg_hba.conf'), `local all ${hbaName(options.user)} ${access}\n`);
  await writeFile(
    join(data, 'pg_ident.conf'),
    osUser === null ? '' : `recovery ${hbaName(osUser)} ${hbaName(options.user)}\n`,
  );
  await writeFile(join(data, 'recovery.signal'), '');
}

/** Why the instance failed: the last FATAL, PANIC or ERROR line of its log. */
async function recoveryFailure(log: string, what: string): Promise<AppError> {
  const text = await readFile(log, 'utf8').catch(() => '');
  const line =
    text
      .split('\n')
      .filter((l) => /FATAL|PANIC|ERROR/.test(l))
      .at(-1) ?? 'see its log';
  return new AppError(
    'PITR.RECOVERY_FAILED',
    'failed',
    `The temporary PostgreSQL instance ${what}: ${line.trim()}`,
    {
      suggestion: 'Nothing was changed. See the server log; try another target inside the window.',
    },
  );
}
