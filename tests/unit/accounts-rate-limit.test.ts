// The in-memory DoS limits: per address with an hour's block, new-user budgets per address and server-wide,
// and a per-address table that stays bounded under a flood of distinct addresses.
import { describe, expect, it } from 'vitest';
import { BLOCK_MS, createRateLimiter } from '../../runtime/auth/rate-limit';
import { createWindowTable } from '../../runtime/auth/window-table';

const limits = { limit: 3, periodMs: 60_000, newUserLimit: 2, newUserLimitPerAddress: 5 };

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
    limiter.hitNewUser('a', 0, limits);
    limiter.hitNewUser('b', 1, limits);
    let error: unknown;
    try {
      limiter.hitNewUser('c', 30_000, limits);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'DOS.NEW_USER_LIMIT', retryAfterSeconds: 30 });
    expect(() => limiter.hitNewUser('c', 60_000, limits)).not.toThrow();
  });

  it('gives each address its own share of the new-user budget, so one client cannot spend it all', () => {
    const limiter = createRateLimiter();
    const perAddress = { ...limits, newUserLimit: 10, newUserLimitPerAddress: 2 };
    limiter.hitNewUser('greedy', 0, perAddress);
    limiter.hitNewUser('greedy', 1, perAddress);
    for (let i = 0; i < 20; i++) {
      expect(() => limiter.hitNewUser('greedy', 2 + i, perAddress)).toThrow(
        expect.objectContaining({ code: 'DOS.NEW_USER_LIMIT_ADDRESS' }),
      );
    }
    // The greedy client's refused attempts did not spend the server-wide budget.
    for (let i = 0; i < 8; i++) limiter.hitNewUser(`other-${i}`, 30, perAddress);
  });

  it('stays bounded under 300 000 distinct addresses and keeps a blocked address blocked', () => {
    const max = 10_000;
    const limiter = createRateLimiter(max);
    for (let i = 0; i < 4; i++) {
      try {
        limiter.hit('attacker', i, limits);
      } catch {
        // the fourth request blocks it
      }
    }
    // A flood of one request per distinct address, all within one period (nothing expires on its own).
    for (let i = 0; i < 300_000; i++)
      limiter.hit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 100, limits);
    expect(limiter.tracked()).toBeLessThanOrEqual(2 * max + 1);
    expect(() => limiter.hit('attacker', 200, limits)).toThrow(
      expect.objectContaining({ code: 'DOS.BLOCKED' }),
    );
  });

  it('drops expired windows from the front as time moves on, without a full sweep', () => {
    const table = createWindowTable(1_000_000);
    for (let i = 0; i < 1000; i++) table.count(`a${i}`, 0, 60_000);
    expect(table.size()).toBe(1000);
    // Each later call drops up to two expired entries: 500 calls empty the old window.
    for (let i = 0; i < 500; i++) table.count('fresh', 60_000 + i, 60_000);
    expect(table.size()).toBe(1);
  });
});
