// Durations in config.toml: a unit is required, zero and negative are refused.
import { describe, it, expect } from 'vitest';
import { formatDuration, parseDurationMs } from '../../runtime/config/duration';

describe('parseDurationMs', () => {
  it.each([
    ['1 day', 86_400_000],
    ['3h', 10_800_000],
    ['2 days', 172_800_000],
    ['90 min', 5_400_000],
    ['1 minute', 60_000],
    ['366 days', 31_622_400_000],
    ['1d 2h', 93_600_000],
    ['1.5h', 5_400_000],
  ])('reads %s', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['5', '1 fortnight', '-1 day', '0 days', '', 'day', 'abc 1h', '1h garbage', '1 day 5'])(
    'refuses %j',
    (text) => {
      expect(parseDurationMs(text)).toBeNull();
    },
  );
});

describe('formatDuration', () => {
  it('writes the largest units first', () => {
    expect(formatDuration(93_600_000)).toBe('1d 2h');
    expect(formatDuration(300_000)).toBe('5min');
    expect(formatDuration(0)).toBe('0ms');
  });
});
