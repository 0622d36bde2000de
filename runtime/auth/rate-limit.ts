// DoS prevention in this process's memory: per source address, and one global budget for new-user requests.
import { AppError } from '../../handlers/errors';

export const BLOCK_MS = 60 * 60 * 1000; // a source over its limit is refused for an hour

export interface RateLimits {
  limit: number;
  periodMs: number;
  newUserLimit: number;
}

interface Counter {
  windowStart: number;
  count: number;
  blockedUntil: number;
}

export interface RateLimiter {
  /** Counts one request from address; throws 429 when the address is blocked or just went over its limit. */
  hit(address: string, now: number, limits: RateLimits): void;
  /** Counts one new-user request against the global budget; throws 429 when it is spent. */
  hitNewUser(now: number, limits: RateLimits): void;
}

const MAX_TRACKED = 100_000; // beyond this, expired entries are swept so that many addresses cannot grow memory without bound

export function createRateLimiter(): RateLimiter {
  const counters = new Map<string, Counter>();
  const newUsers = { windowStart: 0, count: 0 };

  const sweep = (now: number, periodMs: number) => {
    for (const [address, c] of counters) {
      if (c.blockedUntil <= now && now - c.windowStart >= periodMs) counters.delete(address);
    }
  };

  const tooMany = (code: string, message: string, retryMs: number) =>
    new AppError(code, 'too_many', message, {
      suggestion: `Try again in ${Math.ceil(retryMs / 1000)} s.`,
      retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
    });

  return {
    hit(address, now, limits) {
      let c = counters.get(address);
      if (!c) {
        if (counters.size >= MAX_TRACKED) sweep(now, limits.periodMs);
        c = { windowStart: now, count: 0, blockedUntil: 0 };
        counters.set(address, c);
      }
      if (c.blockedUntil > now) {
        throw tooMany(
          'DOS.BLOCKED',
          'Too many requests from your address: it is blocked for an hour.',
          c.blockedUntil - now,
        );
      }
      if (now - c.windowStart >= limits.periodMs) {
        c.windowStart = now;
        c.count = 0;
      }
      c.count += 1;
      if (c.count > limits.limit) {
        c.blockedUntil = now + BLOCK_MS;
        throw tooMany(
          'DOS.BLOCKED',
          `More than ${limits.limit} requests within ${limits.periodMs / 1000} s from your address: it is blocked for an hour.`,
          BLOCK_MS,
        );
      }
    },
    hitNewUser(now, limits) {
      if (now - newUsers.windowStart >= limits.periodMs) {
        newUsers.windowStart = now;
        newUsers.count = 0;
      }
      newUsers.count += 1;
      if (newUsers.count > limits.newUserLimit) {
        throw tooMany(
          'DOS.NEW_USER_LIMIT',
          `The server takes at most ${limits.newUserLimit} new-user requests within ${limits.periodMs / 1000} s.`,
          newUsers.windowStart + limits.periodMs - now,
        );
      }
    },
  };
}
