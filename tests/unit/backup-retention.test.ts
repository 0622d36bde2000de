import { describe, expect, it } from 'vitest';
import { selectForDeletion, type RetentionCandidate } from '../../handlers/backup/retention';

const day = (d: number, verified = true, sequence = 1): RetentionCandidate => ({
  file: `db_202601${String(d).padStart(2, '0')}_000000${sequence > 1 ? `_${sequence}` : ''}.dump`,
  verified,
  takenAt: new Date(Date.UTC(2026, 0, d)),
  sequence,
});

describe('selectForDeletion', () => {
  it('keeps everything when keep is null', () => {
    expect(selectForDeletion([day(1), day(2), day(3)], null)).toEqual([]);
  });

  it('deletes verified backups beyond the newest N, whatever the input order', () => {
    expect(selectForDeletion([day(2), day(4), day(1), day(3)], 2).sort()).toEqual([day(1).file, day(2).file]);
  });

  it('never deletes the newest verified backup, even with keep = 0', () => {
    expect(selectForDeletion([day(1), day(2)], 0)).toEqual([day(1).file]);
  });

  it('leaves unverified files alone and does not count them as kept', () => {
    // The two newest are broken: the two newest good ones (2 and 1) must stay.
    const entries = [day(1), day(2), day(3, false), day(4, false)];
    expect(selectForDeletion(entries, 2)).toEqual([]);
    expect(selectForDeletion([...entries, day(0)], 2)).toEqual([day(0).file]);
  });

  it('orders backups of the same second by their sequence', () => {
    expect(selectForDeletion([day(5, true, 1), day(5, true, 3), day(5, true, 2)], 1).sort()).toEqual(
      [day(5, true, 1).file, day(5, true, 2).file].sort(),
    );
  });

  it('deletes nothing when there are no more backups than keep', () => {
    expect(selectForDeletion([day(1), day(2)], 5)).toEqual([]);
    expect(selectForDeletion([], 1)).toEqual([]);
  });
});
