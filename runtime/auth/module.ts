// The accounts module as the composition root sees it: the authenticate middleware, the route deps, the tmp_admin check.
import type { Context, MiddlewareHandler } from 'hono';
import type { AccountDeps } from '../../handlers/accounts/deps';
import { normalizeUserName } from '../../handlers/accounts/names';
import { AppError } from '../../handlers/errors';
import type { Clock, Logger } from '../../handlers/ports';
import type { Config } from '../config/types';
import type { DbHandle } from '../db/handle';
import { createAccountStore } from '../db/accounts-store';
import type { AppEnv } from '../http-env';
import type { AccountRouteDeps } from '../routes/accounts';
import { createAuthenticate } from './authenticate';
import { createRateLimiter } from './rate-limit';

export interface AccountsModuleOptions {
  db: DbHandle;
  config: () => Config;
  logger: Logger;
  clock: Clock;
  addressOf: (c: Context<AppEnv>) => string;
}

export function createAccountsModule(o: AccountsModuleOptions): {
  authenticate: MiddlewareHandler<AppEnv>;
  routes: AccountRouteDeps;
} {
  const deps: AccountDeps = {
    store: createAccountStore(o.db),
    clock: o.clock,
    logger: o.logger,
    settings: () => {
      const config = o.config();
      return {
        tmpAdmin: config.user.tmpAdmin === undefined ? undefined : normalizeUserName(config.user.tmpAdmin),
        expirationPeriodMs: config.user.expirationPeriodMs,
        signatureWindowMs: config.auth.signatureWindowMs,
      };
    },
  };
  const authenticate = createAuthenticate({
    deps,
    config: o.config,
    limiter: createRateLimiter(),
    addressOf: o.addressOf,
  });
  return { authenticate, routes: { accounts: deps } };
}

/** A tmp_admin must name an existing user: otherwise whoever requests that name first would become admin. */
export async function checkTmpAdmin(config: Config, db: DbHandle): Promise<void> {
  if (config.user.tmpAdmin === undefined) return;
  const name = normalizeUserName(config.user.tmpAdmin);
  const user = await createAccountStore(db).findUser(name);
  if (user) return;
  throw new AppError(
    'CONFIG.TMP_ADMIN_UNKNOWN',
    'misconfigured',
    `[user] tmp_admin names "${name}", but no such user exists on this server.`,
    {
      suggestion:
        `Remove tmp_admin, start the server, first run \`bomnipotent_client --domain <server> user request ${name}\`, ` +
        'then set tmp_admin again.',
    },
  );
}
