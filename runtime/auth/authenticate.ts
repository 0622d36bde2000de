// The middleware on every request: rate limits (before the body is read), then the signature check that sets
// `principal` (or 401).
import type { Context, MiddlewareHandler } from 'hono';
import { authenticateRequest } from '../../handlers/accounts/authenticate';
import {
  HEADER_DOMAIN,
  HEADER_NONCE,
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  HEADER_USER,
} from '../../handlers/accounts/canonical';
import type { AccountDeps } from '../../handlers/accounts/deps';
import type { Config } from '../config/types';
import type { AppEnv } from '../http/env';
import type { RateLimiter } from './rate-limit';

export interface AuthenticateOptions {
  deps: AccountDeps;
  config: () => Config;
  limiter: RateLimiter;
  /** The client's address (trusted proxies already applied). */
  addressOf: (c: Context<AppEnv>) => string;
}

const PRUNE_EVERY_MS = 60_000;
const EMPTY = new Uint8Array(0);

/** The path and query as the client signed them: the WHATWG-normalized form that fetch puts on the request line. */
export function pathAndQueryOf(url: string): string {
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}

export function createRateLimit(o: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = o.config();
    const now = o.deps.clock.now().getTime();
    const address = o.addressOf(c);
    o.limiter.hit(address, now, config.dosPrevention);
    if (c.req.method !== 'POST' || c.req.path !== '/users') return next();
    const giveBack = o.limiter.hitNewUser(address, now, config.dosPrevention);
    await next();
    // Only a request that created a user spends the server-wide budget.
    if (c.res.status !== 201) giveBack();
  };
}

export function createAuthenticate(o: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  let lastPrune = 0;
  return async (c, next) => {
    const now = o.deps.clock.now().getTime();
    const user = c.req.header(HEADER_USER);
    const timestamp = c.req.header(HEADER_TIMESTAMP);
    const signature = c.req.header(HEADER_SIGNATURE);
    const signed = user !== undefined || timestamp !== undefined || signature !== undefined;
    // Hono caches the body, so the route can still read it as JSON after this.
    const body = signed && c.req.raw.body ? new Uint8Array(await c.req.arrayBuffer()) : EMPTY;
    const principal = await authenticateRequest(
      {
        method: c.req.method,
        pathAndQuery: pathAndQueryOf(c.req.url),
        user,
        timestamp,
        signature,
        domain: c.req.header(HEADER_DOMAIN),
        nonce: c.req.header(HEADER_NONCE),
        host: new URL(c.req.url).host,
        body,
      },
      o.deps,
    );
    c.set('principal', principal);

    if (signed && now - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now;
      // Old signatures are outside the window and refused by their timestamp anyway; pruning only keeps the table small.
      await o.deps.store.forgetSignaturesBefore(new Date(now)).catch((error: unknown) => {
        o.deps.logger.debug(
          `Pruning seen signatures failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
    await next();
  };
}
