// Sizes in config.toml (max_held_wal): a unit is required, binary multiples, a floor of two WAL segments; and
// the default seal_interval and tail_interval beside it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config';
import { parseSizeBytes } from '../../runtime/config/size-key';

const load = (extra: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'config-size-')), 'config.toml');
  writeFileSync(
    file,
    `[[tasks]]\nname = "database_backup"\ndirectory = "backups"\ncontinuous = true\n${extra}`,
  );
  return loadConfig(file, {});
};

describe('parseSizeBytes', () => {
  it.each([
    ['2 GB', 2 * 2 ** 30],
    ['512MB', 512 * 2 ** 20],
    ['1.5 gb', 1.5 * 2 ** 30],
    ['100 bytes', 100],
    ['1 TB', 2 ** 40],
  ])('reads %s', (text, bytes) => expect(parseSizeBytes(text)).toBe(bytes));

  it.each(['2', 'GB', '2 GiB', '-1 GB', '2 GB 5', ''])('refuses %j', (text) =>
    expect(parseSizeBytes(text)).toBeNull(),
  );
});

describe('max_held_wal', () => {
  it('defaults to 2 GB and reads a size', () => {
    expect(load('').databaseBackup?.continuous?.maxHeldWalBytes).toBe(2 * 2 ** 30);
    expect(load('max_held_wal = "64 MB"\n').databaseBackup?.continuous?.maxHeldWalBytes).toBe(64 * 2 ** 20);
  });

  it('refuses a size without a unit or below two WAL segments, naming the key', () => {
    expect(() => load('max_held_wal = "2048"\n')).toThrow(
      /tasks\[0\]\.max_held_wal.*must be a size with a unit, for example "2 GB" or "512 MB" \(found "2048"\)/,
    );
    expect(() => load('max_held_wal = "16 MB"\n')).toThrow(
      /tasks\[0\]\.max_held_wal.*must be at least "32 MB" \(two WAL segments\) \(found "16 MB"\)/,
    );
  });
});

describe('seal_interval', () => {
  it('defaults to 30 s (the off-site recovery point within 60 s) and reads a duration', () => {
    expect(load('').databaseBackup?.continuous?.sealIntervalMs).toBe(30_000);
    expect(load('seal_interval = "1 min"\n').databaseBackup?.continuous?.sealIntervalMs).toBe(60_000);
  });
});

describe('tail_interval', () => {
  it('defaults to 4 s (the local recovery point within 5 s at p99), reads a duration, and "0" or "off" turns it off', () => {
    expect(load('').databaseBackup?.continuous?.tailIntervalMs).toBe(4000);
    expect(load('tail_interval = "2 s"\n').databaseBackup?.continuous?.tailIntervalMs).toBe(2000);
    expect(load('tail_interval = "0"\n').databaseBackup?.continuous?.tailIntervalMs).toBe(0);
    expect(load('tail_interval = "off"\n').databaseBackup?.continuous?.tailIntervalMs).toBe(0);
  });

  it('refuses a number without a unit, naming the key', () => {
    expect(() => load('tail_interval = "5"\n')).toThrow(/tasks\[0\]\.tail_interval/);
  });
});
