// The in-memory DoS limits: per address with an hour's block, and the global new-user budget.
import { describe, expect, it } from 'vitest';
import { BLOCK_MS, createRateLimiter } from '../../runtime/auth/rate-limit';

const limits = { limit: 3, periodMs: 60_000, newUserLimit: 2 };

describe('rate limiter', () => {
  it('allows the limit per period, then blocks the address for an hour', () => {
    const limiter = createRateLimiter();
    for (let i = 0; i < 3; i++) limiter.hit('a', i, limits);
    expect(() => limiter.hit('a', 10, limits)).toThrow(
      expect.objectContaining({ code: 'DOS.BLOCKED', kind: 'too_many' }),
    );
    expect(() => limiter.hit('a', 10 + BLOCK_MS - 1, limits)).toThrow(
      expect.objectContaining({ code: 'DOS.BLOCKED' }),
    );
    expect(() => limiter.hit('a', 10 + BLOCK_MS, limits)).not.toThrow();
    expect(() => limiter.hit('b', 20, limits)).not.toThrow();
  });

  it('starts a fresh count each period', () => {
    const limiter = createRateLimiter();
    for (let i = 0; i < 3; i++) limiter.hit('a', i, limits);
    for (let i = 0; i < 3; i++) limiter.hit('a', 60_000 + i, limits);
    expect(() => limiter.hit('a', 60_010, limits)).toThrow();
  });

  it('refuses new-user requests over the global budget until the period ends, with a retry time', () => {
    const limiter = createRateLimiter();
    limiter.hitNewUser(0, limits);
    limiter.hitNewUser(1, limits);
    let error: unknown;
    try {
      limiter.hitNewUser(30_000, limits);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'DOS.NEW_USER_LIMIT', retryAfterSeconds: 30 });
    expect(() => limiter.hitNewUser(60_000, limits)).not.toThrow();
  });
});
