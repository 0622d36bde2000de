// DoS prevention in this process's memory: per client address, and new-user requests per address and server-wide.
import { AppError } from '../../handlers/errors';
import { createBlockTable, createWindowTable } from './window-table';

export const BLOCK_MS = 60 * 60 * 1000; // a source over its limit is refused for an hour

export interface RateLimits {
  limit: number;
  periodMs: number;
  newUserLimit: number;
  newUserLimitPerAddress: number;
}

export interface RateLimiter {
  /** Counts one request from address; throws 429 when the address is blocked or just went over its limit. */
  hit(address: string, now: number, limits: RateLimits): void;
  /**
   * Counts one new-user request from address and against the server-wide budget; 429 when either is spent. The
   * returned function gives the server-wide share back (for a request then refused): a flood of refused requests
   * must not use up the budget of real ones. The per-address count stays, against a flood from one address.
   */
  hitNewUser(address: string, now: number, limits: RateLimits): () => void;
  /** Entries held in memory (bounded by maxTracked per table). */
  tracked(): number;
}

/** About 100 bytes per address: the tables stay within a few tens of MiB whatever the traffic. */
export const MAX_TRACKED = 100_000;

const tooMany = (code: string, message: string, retryMs: number) =>
  new AppError(code, 'too_many', message, {
    suggestion: `Try again in ${Math.ceil(retryMs / 1000)} s.`,
    retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
  });

export function createRateLimiter(maxTracked = MAX_TRACKED): RateLimiter {
  const requests = createWindowTable(maxTracked);
  const blocked = createBlockTable(maxTracked);
  const newUsersByAddress = createWindowTable(maxTracked);
  const newUsers = { windowStart: 0, count: 0 };

  return {
    hit(address, now, limits) {
      const until = blocked.blockedUntil(address, now);
      if (until > now) {
        throw tooMany(
          'DOS.BLOCKED',
          'Too many requests from your address: it is blocked for an hour.',
          until - now,
        );
      }
      const c = requests.count(address, now, limits.periodMs);
      if (c.count > limits.limit) {
        blocked.block(address, now + BLOCK_MS);
        throw tooMany(
          'DOS.BLOCKED',
          `More than ${limits.limit} requests within ${limits.periodMs / 1000} s from your address: it is blocked for an hour.`,
          BLOCK_MS,
        );
      }
    },
    hitNewUser(address, now, limits) {
      // Per address first: a client over its own share is refused without spending the server-wide budget.
      const mine = newUsersByAddress.count(address, now, limits.periodMs);
      if (mine.count > limits.newUserLimitPerAddress) {
        throw tooMany(
          'DOS.NEW_USER_LIMIT_ADDRESS',
          `Your address may send at most ${limits.newUserLimitPerAddress} new-user requests within ${limits.periodMs / 1000} s.`,
          mine.windowStart + limits.periodMs - now,
        );
      }
      if (now - newUsers.windowStart >= limits.periodMs) {
        newUsers.windowStart = now;
        newUsers.count = 0;
      }
      if (newUsers.count >= limits.newUserLimit) {
        throw tooMany(
          'DOS.NEW_USER_LIMIT',
          `The server takes at most ${limits.newUserLimit} new-user requests within ${limits.periodMs / 1000} s.`,
          newUsers.windowStart + limits.periodMs - now,
        );
      }
      newUsers.count += 1;
      const window = newUsers.windowStart;
      return () => {
        if (newUsers.windowStart === window) newUsers.count = Math.max(0, newUsers.count - 1);
      };
    },
    tracked: () => requests.size() + blocked.size() + newUsersByAddress.size(),
  };
}
