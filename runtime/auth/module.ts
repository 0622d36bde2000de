// The accounts module as the composition root sees it: the authenticate middleware, the route deps, the tmp_admin check.
import type { Context, MiddlewareHandler } from 'hono';
import type { AccountDeps } from '../../handlers/accounts/deps';
import { normalizeUserName } from '../../handlers/accounts/names';
import { AppError } from '../../handlers/errors';
import type { Clock } from '../../handlers/ports/clock';
import type { Logger } from '../../handlers/ports/logger';
import type { Config } from '../config/types';
import type { DbHandle } from '../db/handle';
import { createAccountStore } from '../db/accounts-store';
import type { AppEnv } from '../http/env';
import type { AccountRouteDeps } from '../routes/accounts';
import { originOf } from '../../handlers/accounts/canonical';
import { keyFingerprint } from '../../handlers/accounts/fingerprint';
import { createClientAddressResolver } from '../http/client-address';
import { createAuthenticate, createRateLimit } from './authenticate';
import { createRateLimiter } from './rate-limit';

export interface AccountsModuleOptions {
  db: DbHandle;
  config: () => Config;
  logger: Logger;
  clock: Pick<Clock, 'now'>;
  /** The socket's peer address; X-Forwarded-For is applied here, from trusted_proxies only. */
  addressOf: (c: Context<AppEnv>) => string;
}

export function createAccountsModule(o: AccountsModuleOptions): {
  authenticate: MiddlewareHandler<AppEnv>;
  rateLimit: MiddlewareHandler<AppEnv>;
  routes: AccountRouteDeps;
  clientAddressOf: (c: Context<AppEnv>) => string;
} {
  const deps: AccountDeps = {
    store: createAccountStore(o.db),
    clock: o.clock,
    logger: o.logger,
    settings: () => {
      const config = o.config();
      return {
        tmpAdmin: config.user.tmpAdmin === undefined ? undefined : normalizeUserName(config.user.tmpAdmin),
        tmpAdminKey: config.user.tmpAdminKey,
        origin: config.domain === undefined ? undefined : (originOf(config.domain) ?? undefined),
        expirationPeriodMs: config.user.expirationPeriodMs,
        signatureWindowMs: config.auth.signatureWindowMs,
      };
    },
  };
  const resolve = createClientAddressResolver(() => o.config().trustedProxies);
  const clientAddressOf = (c: Context<AppEnv>) => resolve(o.addressOf(c), c.req.header('x-forwarded-for'));
  const options = { deps, config: o.config, limiter: createRateLimiter(), addressOf: clientAddressOf };
  return {
    authenticate: createAuthenticate(options),
    rateLimit: createRateLimit(options),
    routes: { accounts: deps },
    clientAddressOf,
  };
}

/**
 * A tmp_admin must name an existing user who is not denied, and the key whose fingerprint it names: a name alone
 * would give admin powers to whoever requested that name first.
 */
export async function checkTmpAdmin(config: Config, db: DbHandle): Promise<void> {
  if (config.user.tmpAdmin === undefined) return;
  const name = normalizeUserName(config.user.tmpAdmin);
  const store = createAccountStore(db);
  const user = await store.findUser(name);
  const refuse = (message: string, suggestion: string) =>
    new AppError('CONFIG.TMP_ADMIN_UNKNOWN', 'misconfigured', message, { suggestion });
  if (!user) {
    throw refuse(
      `[user] tmp_admin names "${name}", but no such user exists on this server.`,
      `Remove tmp_admin, start the server, first run \`bomnipotent_client --domain <server> user request ${name}\`, ` +
        'then set tmp_admin again (with the fingerprint it printed).',
    );
  }
  if (user.status === 'DENIED') {
    throw refuse(
      `[user] tmp_admin names "${name}", whose request was denied: a denied user never gets admin powers.`,
      'Name a user who is not denied, or remove tmp_admin.',
    );
  }
  const live = (await store.keysOf(name)).filter((key) => key.revokedAt === null);
  const wanted = config.user.tmpAdminKey;
  if (wanted === undefined) {
    throw refuse(
      `[user] tmp_admin names only "${name}", not a key: whoever requested that name first would become admin.`,
      'Name your key: tmp_admin = "<email>:SHA256:..." with the fingerprint `user request` printed.',
    );
  }
  if (live.some((key) => keyFingerprint(key.publicKeyPem) === wanted)) return;
  throw refuse(
    `[user] tmp_admin names the key ${wanted}, but "${name}" holds no such key: someone else may have requested that name.`,
    `Check the fingerprint \`user request\` printed; the keys on the server: ${live.map((k) => keyFingerprint(k.publicKeyPem)).join(', ') || 'none'}.`,
  );
}
