// The world of one fault-matrix cell: its own database, backup directory and temp folder, the real server process
// (its own process group, so a SIGKILL takes its pg_dump or psql too), an admin who talks to it through the real
// client, and the three checks every cell makes: content fingerprint, cause named, nothing left behind.
import { TEST_SIGNING_KEY_PEM } from '../support/restore-real';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { newKeyPair } from '../support/accounts-harness';
import { runClientProgram, type ClientRun } from '../support/client-program';
import { adminQuery, adminUrl, createTestDatabase, type TestDatabase } from '../support/pg';
import { SERVER_BIN } from '../support/server-process';
import { watchOutput } from '../support/process-output';
import { until } from '../support/until';

export const ADMIN = 'faults-admin@example.com';

export interface ServerHandle {
  child: ChildProcess;
  url: string;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGKILL to the whole process group, as a container runtime or the OOM killer would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface CellWorld {
  db: TestDatabase;
  /** db_url with a password, so that the tools get a passfile (trust auth ignores it). */
  dbUrl: string;
  directory: string;
  /** The server's TMPDIR: where its passfiles would be left. */
  serverTmp: string;
  home: string;
  keyPath: string;
  server: ServerHandle | undefined;
  config(extra?: string): string;
  start(extra?: string, env?: NodeJS.ProcessEnv): Promise<ServerHandle>;
  client(...args: string[]): Promise<ClientRun>;
  fingerprint(): Promise<string>;
  close(): Promise<void>;
}

export async function openCell(prefix: string): Promise<CellWorld> {
  const db = await createTestDatabase(prefix);
  const url = new URL(db.url);
  url.username = url.username || 'root';
  url.password = 'fault-matrix-password';
  const root = mkdtempSync(join(tmpdir(), 'bomnipotent-faults-'));
  const directory = join(root, 'backups');
  const serverTmp = join(root, 'server-tmp');
  const home = join(root, 'home');
  mkdirSync(serverTmp);
  mkdirSync(home);
  const key = newKeyPair();
  const keyPath = join(home, 'admin_secret_key.pem');
  // The server signs its backups with the tests' key, so that a restore run in a child process trusts them.
  writeFileSync(join(root, 'backup-signing-key.pem'), TEST_SIGNING_KEY_PEM, { mode: 0o600 });
  writeFileSync(keyPath, key.secretKeyPem, { mode: 0o600 });
  let seeded = false;

  const world: CellWorld = {
    db,
    dbUrl: url.toString(),
    directory,
    serverTmp,
    home,
    keyPath,
    server: undefined,
    config: (extra = '') =>
      `db_url = "${url.toString()}"\nhttp_port = 0\n[log]\nlevel = "debug"\n` +
      `[[tasks]]\nname = "database_backup"\ndirectory = "${directory}"\nscheduled = false\n${extra}`,
    async start(extra = '', env = {}) {
      const configPath = join(root, 'config.toml');
      writeFileSync(configPath, world.config(extra));
      const server = startServer(configPath, { TMPDIR: serverTmp, ...env });
      world.server = server;
      const m = await server.waitFor(/Listening on http:\/\/127\.0\.0\.1:(\d+)/);
      server.url = `http://127.0.0.1:${m[1]}`;
      if (!seeded) {
        await seedAdmin(db.name, key.publicKeyPem);
        seeded = true;
      }
      return server;
    },
    client: (...args) =>
      runClientProgram(home, ['-d', world.server!.url, '-u', ADMIN, '-s', keyPath, ...args]),
    fingerprint: () => fingerprint(db.name),
    async close() {
      await world.server?.stop();
      await db.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  await adminQuery(
    `CREATE TABLE docs (id int PRIMARY KEY, title text NOT NULL, body jsonb);
     INSERT INTO docs SELECT g, 'document ' || g, jsonb_build_object('n', g) FROM generate_series(1, 200) g`,
    [],
    db.name,
  );
  return world;
}

async function seedAdmin(database: string, publicKeyPem: string): Promise<void> {
  const now = new Date();
  await adminQuery(
    `INSERT INTO users (name, status, kind, created_at, updated_at) VALUES ($1, 'APPROVED', 'human', $2, $2)`,
    [ADMIN, now],
    database,
  );
  await adminQuery(
    'INSERT INTO user_keys (user_name, public_key, created_at, expires_at) VALUES ($1, $2, $3, $4)',
    [ADMIN, publicKeyPem, now, new Date(Date.now() + 86_400_000)],
    database,
  );
  await adminQuery(`INSERT INTO user_roles (user_name, role) VALUES ($1, 'admin')`, [ADMIN], database);
}

/** The protected content: every row and column of docs, and its columns' types, as one hash. */
export async function fingerprint(database: string): Promise<string> {
  const { rows } = await adminQuery<{ fp: string }>(
    `SELECT md5(
       (SELECT string_agg(column_name || ':' || data_type, ',' ORDER BY ordinal_position)
          FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'docs')
       || '|' || coalesce((SELECT string_agg(d::text, '|' ORDER BY id) FROM docs d), '')) AS fp`,
    [],
    database,
  );
  return rows[0]!.fp;
}

/** Changes the content after a backup, so that "old" and "backup" have different fingerprints. */
export async function changeContent(database: string): Promise<void> {
  await adminQuery(
    `UPDATE docs SET title = title || ' (edited)' WHERE id % 2 = 0; DELETE FROM docs WHERE id > 150;
     INSERT INTO docs VALUES (1000, 'written after the backup', '{}')`,
    [],
    database,
  );
}

/**
 * The checks of "nothing left behind": scratch/aside databases (except `allowed`: the README promises to keep the
 * previous database of a restore interrupted after its swap), unfinished files, passfiles.
 */
export async function expectNothingLeft(
  world: CellWorld,
  allowed: string[] = [],
  options: { serverWasKilled?: boolean } = {},
): Promise<void> {
  // The replaced database is dropped in the background after a restore answers: give it time to go.
  const deadline = Date.now() + 20_000;
  let copies: string[] = [];
  for (;;) {
    const { rows } = await adminQuery<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
      [`${world.db.name}\\_%`],
    );
    copies = rows.map((r) => r.datname).filter((name) => !allowed.includes(name));
    if (copies.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(copies, 'scratch or aside databases').toEqual([]);
  const files = safeList(world.directory);
  expect(
    files.filter((f) => f.endsWith('.partial')),
    'unfinished files',
  ).toEqual([]);
  const passfiles = safeList(world.serverTmp).filter((f) => f.startsWith('bomnipotent-pg-'));
  if (options.serverWasKilled) {
    // A SIGKILLed server cannot remove its passfile; sweeping them at start belongs to the front-door issue.
    // Until then: private to the server's user (a 0700 directory), never readable by anyone else.
    for (const dir of passfiles) expect(statSync(join(world.serverTmp, dir)).mode & 0o077, dir).toBe(0);
  } else expect(passfiles, 'password files').toEqual([]);
}

export function safeList(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}

export function backupFiles(world: CellWorld): string[] {
  return safeList(world.directory)
    .filter((f) => /\.dump(\.zst|\.gz)?$/.test(f))
    .sort();
}

/** Waits until psql runs the pg_sleep a cell planted in a dump, in a database whose name is LIKE `pattern`. */
export async function untilPsqlSleepsIn(pattern: string, what: string): Promise<void> {
  await until(what, async () => {
    const { rows } = await adminQuery(
      `SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active'`,
      [pattern],
    );
    return rows.length > 0 ? true : undefined;
  });
}

export function startServer(configPath: string, env: NodeJS.ProcessEnv): ServerHandle {
  const child = spawn(process.execPath, [SERVER_BIN, '--config', configPath], {
    env: { ...process.env, BOMNIPOTENT_DB_WAIT_TIMEOUT: '5', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const watched = watchOutput(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle: ServerHandle = {
    child,
    url: '',
    ...watched,
    async kill() {
      if (alive()) process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
    async stop() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => void handle.kill(), 15_000);
      await exited;
      clearTimeout(timer);
      // Anything the server started in its group (a tool it did not reap) goes with it.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is empty
      }
    },
  };
  return handle;
}

export { adminQuery, adminUrl, until };

export interface AuditLine {
  action: string;
  outcome: string;
  user: string | null;
  message: string;
}

export function auditTrail(world: CellWorld): AuditLine[] {
  let text = '';
  try {
    text = readFileSync(join(world.directory, 'audit.log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine);
}
