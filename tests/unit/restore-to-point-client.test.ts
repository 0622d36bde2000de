// `completely-restore --to`: the time the admin writes, refused with one line when it is not a time.
import { describe, expect, it } from 'vitest';
import { parseTarget, pointLine } from '../../client/commands/restore-to-point';

describe('--to <time>', () => {
  it('takes a date and time with Z or an offset, or in this machine’s time zone', () => {
    expect(parseTarget('2026-12-07T09:14:59Z')).toBe('2026-12-07T09:14:59.000Z');
    expect(parseTarget('2026-12-07 10:14:59+01:00')).toBe('2026-12-07T09:14:59.000Z');
    expect(parseTarget('2026-12-07 10:14:59.250Z')).toBe('2026-12-07T10:14:59.250Z');
    expect(parseTarget('2026-12-07 10:14:59')).toBe(new Date(2026, 11, 7, 10, 14, 59).toISOString());
  });

  it('refuses a bare time or words with a line that shows the form', () => {
    for (const text of ['10:14:59', 'yesterday', '2026-13-45 99:99']) {
      expect(() => parseTarget(text)).toThrow(
        `--to '${text}' is not a time: write the date and time, for example "2026-12-07 10:14:59" (this machine's time zone) or "2026-12-07T09:14:59Z".`,
      );
    }
  });

  it('prints the exact success and dry-run lines', () => {
    const answer = { target: '2026-12-07T09:14:59.000Z', base: 'pitr/base/b.tar.zst', segments: 3 };
    expect(pointLine({ ...answer, dryRun: false })).toBe(
      "Successfully restored database to 2026-12-07T09:14:59.000Z from base backup 'pitr/base/b.tar.zst' and 3 WAL segment(s).",
    );
    expect(pointLine({ ...answer, dryRun: true })).toBe(
      "Dry run: the database can be restored to 2026-12-07T09:14:59.000Z from base backup 'pitr/base/b.tar.zst' and 3 WAL segment(s); nothing was changed.",
    );
  });
});
