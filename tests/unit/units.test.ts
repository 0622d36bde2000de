// The one byte formatter (handlers/units.ts) writes each size exactly as its place always has: the server's messages,
// the client's tables and progress bar, the restore preview in MB, a copy's size to a tenth of a MB.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatMegabytes } from '../../handlers/units';
import { formatSize } from '../../client/progress-bar';
import { previewLines } from '../../client/commands/restore-preview-lines';
import { describePitrWindow, type PitrSummary } from '../../handlers/pitr/summary';

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;

describe('formatBytes', () => {
  it('writes messages with "bytes" below 1 KB and binary multiples above, up to TB', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(1023)).toBe('1023 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(5 * GB)).toBe('5.0 GB');
    expect(formatBytes(3 * 1024 * GB)).toBe('3.0 TB');
    expect(formatBytes(2048 * 1024 * GB)).toBe('2048.0 TB');
  });

  it('writes the client\'s short form ("512 B"), rounding a rate to whole bytes', () => {
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(1023.6)).toBe('1024 B');
    expect(formatSize(10 * MB + 512 * KB)).toBe('10.5 MB');
    expect(formatSize(2 * GB)).toBe('2.0 GB');
  });

  it('stops at MB where a view reads in MB (the restore preview)', () => {
    expect(formatBytes(900, { small: 'B', largest: 'MB' })).toBe('900 B');
    expect(formatBytes(2 * GB, { small: 'B', largest: 'MB' })).toBe('2048.0 MB');
    const lines = previewLines({
      file: 'db_2026-12-07T10-00-00Z.sql.zst',
      database: 'db',
      serverVersion: '15.8',
      takenAt: '2026-12-07T10:00:00.000Z',
      sizeBytes: 3 * GB,
      signedBy: null,
      tables: [],
      rowsUnknown: null,
    });
    expect(lines).toContain(', 3072.0 MB');
  });

  it('writes megabytes rounded up for a need, to a tenth for a copy', () => {
    expect(formatMegabytes(MB + 1)).toBe('2 MB');
    expect(formatMegabytes(MB + 1, 'tenth')).toBe('1.0 MB');
    expect(formatMegabytes(12.34 * MB, 'tenth')).toBe('12.3 MB');
  });

  it("gives the client's PITR line its sizes in the short form", () => {
    const summary: PitrSummary = {
      earliest: '2026-12-07T10:00:00.000Z',
      latest: '2026-12-07T11:00:00.000Z',
      latestAgeSeconds: 90,
      baseBackups: 1,
      segments: 4,
      problem: null,
      heldWalBytes: 512,
      maxHeldWalBytes: 2 * GB,
    };
    expect(describePitrWindow(summary)).toBe(
      'Point-in-time recovery: restorable from 2026-12-07 10:00:00 UTC to 2026-12-07 11:00:00 UTC (the latest point ' +
        'is 90 s old; 1 base backup(s), 4 WAL segment(s); the replication slot holds back 512 B of WAL on the ' +
        'database server (max_held_wal 2.0 GB)).',
    );
  });
});
