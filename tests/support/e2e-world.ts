// The preamble of the end-to-end tests: a database of its own, a server process with a database_backup task, an
// admin's config folder and the client run as that admin, hot reloads, and the first admin bootstrapped through
// tmp_admin as the README tells it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminQuery, createTestDatabase, type TestDatabase } from './pg';
import { runClient, startListening, waitForReloads, writeConfig, type ServerProcess } from './server-process';

export const ADMIN = 'admin@example.com';

export interface E2eWorld {
  db: TestDatabase;
  server: ServerProcess;
  backups: string;
  adminHome: string;
  configPath: string;
  /** The config the server started with (tmp_admin is added and removed around it). */
  baseConfig: string;
  asAdmin(...args: string[]): ReturnType<typeof runClient>;
  /** The titles in the test's `docs` table, in id order. */
  titles(): Promise<string[]>;
  /** Writes the config and waits until the server has reloaded `count` times in all. */
  reloaded(text: string, count: number): Promise<void>;
  /** `user request`, tmp_admin (reload 1), approve, the admin role, tmp_admin removed (reload 2). */
  bootstrapAdmin(): Promise<void>;
  stop(): Promise<void>;
}

/** `task` is appended to the database_backup task; `ready` is a log line to wait for after the start. */
export async function startE2eWorld(options: {
  prefix: string;
  /** Top-level keys, before the task table (status_page = true, say). */
  root?: string;
  task?: string;
  ready?: { line: RegExp; timeoutMs: number };
  /** The server's environment besides the test's own (for ${NAME} in the config). */
  env?: NodeJS.ProcessEnv;
}): Promise<E2eWorld> {
  const db = await createTestDatabase(`e2e_${options.prefix}`);
  const backups = mkdtempSync(join(tmpdir(), `bomnipotent-e2e-${options.prefix}-`));
  const adminHome = mkdtempSync(join(tmpdir(), `bomnipotent-e2e-${options.prefix}-admin-`));
  const baseConfig =
    `db_url = "${db.url}"\nhttp_port = 0\n${options.root ?? ''}[[tasks]]\nname = "database_backup"\n` +
    `directory = "${backups}"\n${options.task ?? ''}`;
  const configPath = writeConfig(baseConfig);
  const server = await startListening(configPath, options.env);
  if (options.ready) await server.waitFor(options.ready.line, options.ready.timeoutMs);
  const world: E2eWorld = {
    db,
    server,
    backups,
    adminHome,
    configPath,
    baseConfig,
    asAdmin: (...args) => runClient(['-d', server.url, '-u', ADMIN, ...args], { XDG_CONFIG_HOME: adminHome }),
    titles: async () =>
      (await adminQuery<{ title: string }>('SELECT title FROM docs ORDER BY id', [], db.name)).rows.map(
        (r) => r.title,
      ),
    reloaded: async (text, count) => {
      writeFileSync(configPath, text);
      await waitForReloads(server, count);
    },
    bootstrapAdmin: async () => {
      const requested = await runClient(['-d', server.url, 'user', 'request', ADMIN], {
        XDG_CONFIG_HOME: adminHome,
      });
      if (requested.code !== 0) throw new Error(`user request failed: ${requested.stderr}`);
      await world.reloaded(baseConfig + `[user]\n${tmpAdminLine(requested.stdout)}\n`, 1);
      for (const args of [
        ['user', 'approve', ADMIN],
        ['user-role', 'add', ADMIN, 'admin'],
      ]) {
        const done = await world.asAdmin(...args);
        if (done.code !== 0) throw new Error(`${args.join(' ')} failed: ${done.stderr}`);
      }
      await world.reloaded(baseConfig, 2);
    },
    stop: async () => {
      await server.stop();
      await db.drop();
    },
  };
  return world;
}

/** The `tmp_admin = "<email>:SHA256:..."` line that `user request` prints: it names the requester's key. */
export function tmpAdminLine(requestOutput: string): string {
  const line = /tmp_admin = "[^"]+"/.exec(requestOutput)?.[0];
  if (!line) throw new Error(`user request printed no tmp_admin line: ${requestOutput}`);
  return line;
}
