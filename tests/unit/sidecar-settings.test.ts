// The executor sidecar's environment: defaults, the token from a file, and refusals that never print a secret.
import { describe, it, expect } from 'vitest';
import { thrown } from '../support/rejection';
import { readSidecarSettings, SidecarSettingsError } from '../../runtime/sidecar/settings';

const DB_URL = 'postgres://bomnipotent:s3cr3t-pw@db:5432/bomnipotent';
const TOKEN = 'a-token-of-enough-length';

function refusal(env: Record<string, string>, readFile?: (path: string) => string): string {
  return thrown(() => readSidecarSettings(env, readFile), SidecarSettingsError).message;
}

describe('sidecar settings', () => {
  it('defaults to loopback, port 8091 and the container backup directory', () => {
    expect(
      readSidecarSettings({ BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN }),
    ).toEqual({
      dbUrl: DB_URL,
      database: 'bomnipotent',
      token: TOKEN,
      directory: '/etc/bomnipotent_server/backups',
      host: '127.0.0.1',
      port: 8091,
      logLevel: 'info',
      toolDirectory: undefined,
      offsite: undefined,
      trustedKeys: undefined,
      allowUnsigned: false,
    });
  });

  it('takes its trusted keys and whether it restores untrusted files from its own environment', () => {
    const base = { BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN };
    const [a, b] = [`ed25519:${'A'.repeat(43)}=`, `ed25519:${'b'.repeat(43)}=`];
    expect(
      readSidecarSettings({
        ...base,
        BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS: ` ${a}, ${b}\n`,
        BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED: 'TRUE',
      }),
    ).toMatchObject({ trustedKeys: [a, b], allowUnsigned: true });
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS: `${a} ssh-ed25519 AAAA` })).toContain(
      "BOMNIPOTENT_EXECUTOR_TRUSTED_KEYS holds 'ssh-ed25519'",
    );
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED: 'yes' })).toContain(
      'BOMNIPOTENT_EXECUTOR_ALLOW_UNSIGNED must be true or false',
    );
  });

  it('takes its own off-site store from BOMNIPOTENT_EXECUTOR_OFFSITE and the S3 variables', () => {
    const base = { BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN };
    expect(
      readSidecarSettings({
        ...base,
        BOMNIPOTENT_EXECUTOR_OFFSITE: 's3://my-backups/bomnipotent',
        BOMNIPOTENT_EXECUTOR_S3_ENDPOINT: 'https://minio.example:9000',
        BOMNIPOTENT_EXECUTOR_S3_REGION: 'eu-central-1',
        BOMNIPOTENT_EXECUTOR_S3_FORCE_PATH_STYLE: 'true',
      }).offsite,
    ).toEqual({
      bucket: 'my-backups',
      prefix: 'bomnipotent/',
      endpoint: 'https://minio.example:9000',
      region: 'eu-central-1',
      forcePathStyle: true,
    });
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_OFFSITE: 's3://my-backups/a/../b/' })).toContain(
      'BOMNIPOTENT_EXECUTOR_OFFSITE has ".." as a segment of its prefix',
    );
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_S3_ENDPOINT: 'https://minio.example:9000' })).toBe(
      'BOMNIPOTENT_EXECUTOR_S3_ENDPOINT is only used with BOMNIPOTENT_EXECUTOR_OFFSITE="s3://<bucket>/<prefix>": set it or remove BOMNIPOTENT_EXECUTOR_S3_ENDPOINT.',
    );
    expect(
      refusal({
        ...base,
        BOMNIPOTENT_EXECUTOR_OFFSITE: 's3://my-backups/',
        BOMNIPOTENT_EXECUTOR_S3_FORCE_PATH_STYLE: 'yes',
      }),
    ).toContain('must be true or false');
  });

  it('reads the token from BOMNIPOTENT_EXECUTOR_TOKEN_FILE, trimmed', () => {
    const settings = readSidecarSettings(
      { BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN_FILE: '/run/secrets/token' },
      (path) => (path === '/run/secrets/token' ? `${TOKEN}\n` : ''),
    );
    expect(settings.token).toBe(TOKEN);
  });

  it('refuses a missing or short token without printing it', () => {
    expect(refusal({ BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL })).toContain('BOMNIPOTENT_EXECUTOR_TOKEN');
    const short = refusal({ BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN: 'tooShort123' });
    expect(short).toContain('at least 16');
    expect(short).not.toContain('tooShort123');
  });

  it('refuses a missing or malformed database URL without printing the password', () => {
    expect(refusal({ BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN })).toContain('BOMNIPOTENT_EXECUTOR_DB_URL');
    for (const url of ['mysql://u:s3cr3t-pw@h/db', 'postgres://u:s3cr3t-pw@h:5432/', 'not a url s3cr3t-pw']) {
      expect(refusal({ BOMNIPOTENT_EXECUTOR_DB_URL: url, BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN })).not.toContain(
        's3cr3t-pw',
      );
    }
  });

  it('refuses a relative directory, a bad port and an unknown log level', () => {
    const base = { BOMNIPOTENT_EXECUTOR_DB_URL: DB_URL, BOMNIPOTENT_EXECUTOR_TOKEN: TOKEN };
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_DIRECTORY: 'backups' })).toContain('absolute');
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_PORT: '80a' })).toContain('port');
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_PORT: '70000' })).toContain('port');
    expect(refusal({ ...base, BOMNIPOTENT_EXECUTOR_LOG_LEVEL: 'loud' })).toContain('LOG_LEVEL');
  });
});
