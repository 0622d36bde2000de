import { describe, expect, it } from 'vitest';
import { createLogger, formatTimestamp } from '../../runtime/observability/logger';

describe('logger', () => {
  it('writes the documented line format and masks secrets', () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      write: (l) => lines.push(l),
      now: () => new Date('2026-01-11T10:30:24Z'),
    });
    logger.info('connecting to postgres://bom:hunter2@db:5432/bomnipotent');
    logger.debug('hidden at info');
    expect(lines).toEqual([
      '2026-01-11 10:30:24 +00:00 [INFO] connecting to postgres://bom:***@db:5432/bomnipotent',
    ]);
  });

  it('pads every field', () => {
    expect(formatTimestamp(new Date('2026-02-03T04:05:06Z'))).toBe('2026-02-03 04:05:06 +00:00');
  });
});
