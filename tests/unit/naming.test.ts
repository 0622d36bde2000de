import { describe, expect, it } from 'vitest';
import {
  backupFileName,
  isBackupFileName,
  metadataFileName,
  parseBackupFileName,
  sortNewestFirst,
} from '../../handlers/backup/naming';

const at = new Date('2026-01-11T10:30:24.900Z');

describe('backupFileName', () => {
  it('uses the database name and the UTC time', () => {
    expect(backupFileName('bomnipotent_db', at, [])).toBe('bomnipotent_db_20260111_103024.dump');
    // A local-time offset in the input does not leak into the name.
    expect(backupFileName('db', new Date('2026-01-11T23:30:00-05:00'), [])).toBe('db_20260112_043000.dump');
  });

  it('adds _2, _3 ... when the second is taken', () => {
    const first = backupFileName('db', at, []);
    const second = backupFileName('db', at, [first]);
    const third = backupFileName('db', at, [first, second]);
    expect([first, second, third]).toEqual([
      'db_20260111_103024.dump',
      'db_20260111_103024_2.dump',
      'db_20260111_103024_3.dump',
    ]);
    expect(backupFileName('db', at, [second])).toBe(first);
  });
});

describe('parseBackupFileName', () => {
  it('round-trips names, also with underscores in the database name and a sequence', () => {
    expect(parseBackupFileName('bomnipotent_db_20260111_103024.dump')).toEqual({
      database: 'bomnipotent_db',
      takenAt: new Date('2026-01-11T10:30:24Z'),
      sequence: 1,
      compression: 'none',
      encrypted: false,
    });
    expect(parseBackupFileName('bomnipotent_db_20260111_103024_3.dump')?.sequence).toBe(3);
  });

  it('refuses everything that is not ours', () => {
    for (const name of [
      'db_20260111_103024.dump.meta.json',
      '.db_20260111_103024.dump.partial',
      'db_20261311_103024.dump', // month 13
      'db_20260230_103024.dump', // 30 February
      'db_20260111_256024.dump',
      'db_20260111_103024_1.dump',
      'db_20260111_103024.sql',
      '_20260111_103024.dump',
      '../db_20260111_103024.dump',
      'a/b_20260111_103024.dump',
      'audit.log.jsonl',
    ]) {
      expect(isBackupFileName(name), name).toBe(false);
    }
  });
});

describe('metadataFileName and sortNewestFirst', () => {
  it('names metadata next to the dump', () => {
    expect(metadataFileName('db_20260111_103024.dump')).toBe('db_20260111_103024.dump.meta.json');
  });

  it('sorts by time, then sequence, unparseable names last', () => {
    const files = [
      'db_20260111_103024.dump',
      'junk',
      'db_20260112_000000.dump',
      'db_20260111_103024_2.dump',
      'db_20250101_000000.dump',
    ];
    expect(sortNewestFirst(files.map((file) => ({ file }))).map((e) => e.file)).toEqual([
      'db_20260112_000000.dump',
      'db_20260111_103024_2.dump',
      'db_20260111_103024.dump',
      'db_20250101_000000.dump',
      'junk',
    ]);
  });
});
