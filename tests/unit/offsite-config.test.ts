// The off-site keys of the database_backup task: parsing of offsite = "s3://bucket/prefix", defaults and refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { thrown } from '../support/rejection';
import { parseOffsiteLocation } from '../../handlers/offsite/location';
import { ConfigError, loadConfig } from '../../runtime/config';
import { partSizeFor, MAX_PARTS } from '../../runtime/offsite/part-size';

const dir = mkdtempSync(join(tmpdir(), 'offsite-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BACKUP = '[[tasks]]\nname = "database_backup"\ndirectory = "backups"\n';

function load(extra: string) {
  const file = join(dir, 'config.toml');
  writeFileSync(file, BACKUP + extra);
  return loadConfig(file, {});
}

function loadError(extra: string): string {
  return thrown(() => load(extra), ConfigError).message;
}

describe('offsite location', () => {
  it.each([
    ['s3://my-backups/bomnipotent/', { bucket: 'my-backups', prefix: 'bomnipotent/' }],
    ['s3://my-backups/a/b', { bucket: 'my-backups', prefix: 'a/b/' }],
    ['s3://my-backups', { bucket: 'my-backups', prefix: '' }],
    ['s3://my-backups/', { bucket: 'my-backups', prefix: '' }],
  ])('parses %s', (text, expected) => {
    expect(parseOffsiteLocation(text)).toEqual(expected);
  });

  it.each([
    ['s3://bk1/../other/', '".." as a segment'],
    ['s3://bk1/a/../../x', '".." as a segment'],
    ['s3://bk1/./x', '"." as a segment'],
    ['s3://bk1/a//b', 'empty segment'],
    ['s3://B1/x', 'not a valid S3 bucket name'],
    ['s3://a..b/x', 'not a valid S3 bucket name'],
    ['s3://192.168.1.1/x', 'not a valid S3 bucket name'],
    ['https://b1/x', 'must look like "s3://<bucket>/<prefix>"'],
    ['s3://bk1/a\\b', 'characters other than'],
    ['s3://bk1/a\nb', 'characters other than'],
  ])('refuses %j', (text, reason) => {
    const result = parseOffsiteLocation(text);
    expect(typeof result).toBe('string');
    expect(result).toContain(reason);
  });
});

describe('offsite keys in config.toml', () => {
  it('fills the defaults: checksums when supported, keep like the local keep, no lock', () => {
    const config = load('keep = 5\noffsite = "s3://my-backups/bomnipotent"\n');
    expect(config.databaseBackup?.offsite).toEqual({
      bucket: 'my-backups',
      prefix: 'bomnipotent/',
      endpoint: null,
      region: null,
      forcePathStyle: false,
      checksum: 'when_supported',
      keep: 5,
      lockDays: null,
      lockMode: 'GOVERNANCE',
    });
  });

  it('takes every key', () => {
    const config = load(
      [
        'offsite = "s3://bk1/p"',
        's3_endpoint = "https://minio.example:9000"',
        's3_region = "eu-central-1"',
        's3_force_path_style = true',
        'offsite_keep = 30',
        'offsite_lock_days = 14',
        'offsite_lock_mode = "COMPLIANCE"',
        '',
      ].join('\n'),
    );
    expect(config.databaseBackup?.offsite).toMatchObject({
      endpoint: 'https://minio.example:9000',
      region: 'eu-central-1',
      forcePathStyle: true,
      keep: 30,
      lockDays: 14,
      lockMode: 'COMPLIANCE',
    });
  });

  it('has no off-site settings without offsite', () => {
    expect(load('').databaseBackup?.offsite).toBeUndefined();
  });

  it('refuses a prefix that climbs out with ".."', () => {
    expect(loadError('offsite = "s3://bk1/bomnipotent/../other"\n')).toContain(
      '".." as a segment of its prefix',
    );
  });

  it('refuses store keys without offsite', () => {
    expect(loadError('s3_region = "eu-west-1"\n')).toContain('is only used with offsite');
  });

  it('refuses Object Lock with s3_checksum = "when_required"', () => {
    expect(
      loadError('offsite = "s3://bk1/p"\ns3_checksum = "when_required"\noffsite_lock_days = 3\n'),
    ).toContain('needs checksums on upload');
  });

  it('refuses a lock mode without lock days, and a bad checksum mode', () => {
    expect(loadError('offsite = "s3://bk1/p"\noffsite_lock_mode = "COMPLIANCE"\n')).toContain(
      'needs offsite_lock_days',
    );
    expect(loadError('offsite = "s3://bk1/p"\ns3_checksum = "never"\n')).toContain('s3_checksum');
  });

  it('takes offsite with the sidecar executor (the sidecar uploads, from its own volume)', () => {
    const config = load(
      'offsite = "s3://bk1/p"\nexecutor = "sidecar"\nexecutor_url = "http://executor:8081"\nexecutor_token = "0123456789abcdef0123"\n',
    );
    expect(config.databaseBackup?.offsite?.bucket).toBe('bk1');
  });
});

describe('part size', () => {
  it('stays at the minimum for small files and grows so that no backup needs more than 10,000 parts', () => {
    expect(partSizeFor(1000)).toBe(8 * 1024 * 1024);
    for (const size of [80 * 1024 ** 3, 500 * 1024 ** 3, 5 * 1024 ** 4]) {
      const part = partSizeFor(size);
      expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
      expect(part % (1024 * 1024)).toBe(0);
    }
  });
});
