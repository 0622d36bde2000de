// End to end: the real app on a port, a real migrated database, the real client program over HTTP.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../runtime/http/app';
import { checkTmpAdmin, createAccountsModule } from '../../runtime/auth/module';
import type { Config } from '../../runtime/config/types';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import { createLogger, silentLogger } from '../../runtime/observability/logger';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { testConfig } from '../support/config-fixture';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { runClientProgram } from '../support/client-program';

let database: TestDatabase;
let db: DbHandle;
let server: ServerType;
let base: string;
let home: string;
let config: Config = testConfig();
const serverLog: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('acce2e');
  db = createDbHandle(database.url, { max: 4 });
  await migrate(db.pool(), silentLogger());
  const logger = createLogger({ level: 'warn', write: (l) => serverLog.push(l) });
  const accounts = createAccountsModule({
    db,
    config: () => config,
    logger,
    clock: { now: () => new Date() },
    addressOf: (c) => getConnInfo(c).remote.address ?? 'unknown',
  });
  const app = createApp({
    logger,
    health: { pingDatabase: async () => true },
    maintenance: createMaintenanceMode(),
    authenticate: accounts.authenticate,
    accounts: accounts.routes,
    backups: {} as AppDeps['backups'], // not exercised here
  });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  home = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-accounts-'));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await db.close();
  await database.drop();
  rmSync(home, { recursive: true, force: true });
});

function client(...args: string[]) {
  return runClientProgram(home, ['-d', base, ...args]);
}

describe('bootstrapping the first admin through tmp_admin', () => {
  it('requests, becomes tmp_admin, approves self, takes admin, and stays admin after the setting is gone', async () => {
    const me = 'first.admin@example.com';
    const requested = await client('user', 'request', me);
    expect(requested.exitCode).toBe(0);
    // No admin yet: the request says which tmp_admin line bootstraps one.
    expect(requested.stdout).toMatch(
      new RegExp(
        `To bootstrap the first admin, the server config names this key: \\[user\\] tmp_admin = "${me}:SHA256:[\\w+/]+"\\.\\n$`,
      ),
    );

    // Before tmp_admin: a REQUESTED user gets nowhere.
    const early = await client('-u', me, 'user', 'approve', me);
    expect(early.exitCode).toBe(1);
    expect(early.stderr).toContain('has not been approved yet');

    const tmpAdminKey = /tmp_admin = "[^:"]+:(SHA256:[^"]+)"/.exec(requested.stdout)?.[1];
    const next = testConfig({ user: { tmpAdmin: me, tmpAdminKey } });
    await checkTmpAdmin(next, db); // what the server does when it loads the setting
    config = next;
    // --user alone: the client signs with the key `user request` made in its config folder.
    expect((await client('-u', me, 'user', 'approve', me)).stdout).toBe(`[INFO] Approved user '${me}'.\n`);
    expect((await client('-u', me, 'user-role', 'add', me, 'admin')).stdout).toBe(
      `[INFO] Added role 'admin' to user '${me}'.\n`,
    );
    expect(serverLog.filter((l) => l.includes('[WARN]') && l.includes('tmp_admin'))).toHaveLength(2);

    config = testConfig();
    expect((await client('-u', me, 'session', 'login')).exitCode).toBe(0);
    const who = await client('whoami');
    expect(who.stdout).toBe(`[INFO] The server at ${base} treats you as '${me}'.\n`);
    const list = await client('user', 'list');
    expect(list.stdout).toMatch(new RegExp(`${me.replace(/\./g, '\\.')}\\s+APPROVED\\s+human\\s+admin`));

    // With an approved admin, a new request no longer suggests tmp_admin to anyone.
    const later = await runClientProgram(mkdtempSync(join(home, 'second-')), [
      '-d',
      base,
      'user',
      'request',
      'second@example.com',
    ]);
    expect(later.stdout).toMatch(
      /\[INFO\] Requested new user 'second@example\.com' with the key SHA256:\S+; a user manager has to approve it\.\n$/,
    );
    expect(later.stdout).not.toContain('tmp_admin');
  });

  it('refuses an unknown tmp_admin when the setting is loaded', async () => {
    await expect(
      checkTmpAdmin(testConfig({ user: { tmpAdmin: 'later@example.com' } }), db),
    ).rejects.toMatchObject({
      code: 'CONFIG.TMP_ADMIN_UNKNOWN',
    });
  });
});
