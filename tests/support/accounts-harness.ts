// An app with the real accounts module on a fresh migrated database, plus helpers to sign, seed and snapshot.
import { generateKeyPairSync } from 'node:crypto';
import type { Hono } from 'hono';
import { createApp, type AppDeps } from '../../runtime/http/app';
import { createAccountsModule } from '../../runtime/auth/module';
import type { Config } from '../../runtime/config/types';
import { createDbHandle, type DbHandle } from '../../runtime/db/handle';
import { migrate } from '../../runtime/db/migrate';
import type { AppEnv } from '../../runtime/http/env';
import { createLogger, silentLogger } from '../../runtime/observability/logger';
import { createMaintenanceMode } from '../../runtime/http/maintenance';
import { signRequest } from '../../client/signing';
import { testConfig, type ConfigOverrides } from './config-fixture';
import { createTestDatabase, type TestDatabase } from './pg';

export interface KeyPair {
  secretKeyPem: string;
  publicKeyPem: string;
}

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { secretKeyPem: privateKey, publicKeyPem: publicKey };
}

export interface SendOptions {
  as?: { user: string; key: KeyPair };
  body?: unknown;
  /** Sign this body instead of the one sent (tampering). */
  signedBody?: unknown;
  /** Sign for this server instead of the one the app answers as (http://localhost): a replay across servers. */
  signedFor?: string;
  /** Sign this path instead of the one sent (tampering). */
  signedPath?: string;
  now?: Date;
  headers?: Record<string, string>;
  address?: string;
}

export interface AccountsHarness {
  db: DbHandle;
  database: TestDatabase;
  warnings: string[];
  setConfig(overrides: ConfigOverrides): void;
  /** Moves the server's clock by ms. */
  skew(ms: number): void;
  newApp(): Hono<AppEnv>;
  app: Hono<AppEnv>;
  send(method: string, path: string, options?: SendOptions, app?: Hono<AppEnv>): Promise<Response>;
  seedUser(
    name: string,
    options?: { status?: string; roles?: string[]; key?: KeyPair; expiresAt?: Date; revoked?: boolean },
  ): Promise<KeyPair>;
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export async function startAccountsHarness(overrides: ConfigOverrides = {}): Promise<AccountsHarness> {
  const database = await createTestDatabase('acc');
  const db = createDbHandle(database.url, { max: 4 });
  await migrate(db.pool(), silentLogger());
  let config: Config = testConfig(overrides);
  let offset = 0;
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', write: (line) => warnings.push(line) });
  const newApp = () => {
    const module = createAccountsModule({
      db,
      config: () => config,
      logger,
      clock: { now: () => new Date(Date.now() + offset) },
      addressOf: (c) => c.req.header('x-test-address') ?? '127.0.0.1',
    });
    return createApp({
      logger: silentLogger(),
      health: { pingDatabase: async () => true },
      maintenance: createMaintenanceMode(),
      authenticate: module.authenticate,
      rateLimit: module.rateLimit,
      accounts: module.routes,
      // The backup routes are not under test here; they only read their deps when called.
      backups: {} as AppDeps['backups'],
    });
  };
  const app = newApp();
  const send = async (method: string, path: string, o: SendOptions = {}, target = app) => {
    const text = o.body === undefined ? '' : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const signedText =
      o.signedBody === undefined
        ? text
        : typeof o.signedBody === 'string'
          ? o.signedBody
          : JSON.stringify(o.signedBody);
    const headers: Record<string, string> = {
      ...(o.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    if (o.address) headers['x-test-address'] = o.address;
    if (o.as) {
      Object.assign(
        headers,
        signRequest({
          method,
          baseUrl: o.signedFor ?? 'http://localhost',
          pathAndQuery: o.signedPath ?? path,
          user: o.as.user,
          body: signedText,
          secretKeyPem: o.as.key.secretKeyPem,
          ...(o.now ? { now: o.now } : {}),
        }),
      );
    }
    Object.assign(headers, o.headers);
    return target.request(path, { method, headers, ...(o.body === undefined ? {} : { body: text }) });
  };
  return {
    db,
    database,
    warnings,
    setConfig: (o) => (config = testConfig(o)),
    skew: (ms) => (offset = ms),
    newApp,
    app,
    send,
    async seedUser(name, o = {}) {
      const key = o.key ?? newKeyPair();
      const now = new Date();
      await db.query(
        `INSERT INTO users (name, status, kind, created_at, updated_at) VALUES ($1, $2, 'human', $3, $3)`,
        [name, o.status ?? 'APPROVED', now],
      );
      await db.query(
        'INSERT INTO user_keys (user_name, public_key, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)',
        [
          name,
          key.publicKeyPem,
          now,
          o.expiresAt ?? new Date(Date.now() + 86_400_000),
          o.revoked ? now : null,
        ],
      );
      for (const role of o.roles ?? [])
        await db.query('INSERT INTO user_roles (user_name, role) VALUES ($1, $2)', [name, role]);
      return key;
    },
    async snapshot() {
      const tables = ['users', 'user_keys', 'roles', 'role_permissions', 'user_roles'];
      const parts: unknown[] = [];
      for (const t of tables) parts.push((await db.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows);
      return JSON.stringify(parts);
    },
    async close() {
      await db.close();
      await database.drop();
    },
  };
}
