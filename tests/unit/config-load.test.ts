// loadConfig against real files: defaults, substitution, validation messages, secrets, paths, freezing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { thrown } from '../support/rejection';
import { ConfigError, describeConfig, loadConfig, resolveConfigPath } from '../../runtime/config';
import { maskSecrets, maskUrl } from '../../runtime/observability/mask';

const BACKUP = '[[tasks]]\nname = "database_backup"\ndirectory = "backups"\n';

function writeConfig(text: string, dotenv?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'config-load-'));
  const file = join(dir, 'config.toml');
  writeFileSync(file, text);
  if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv);
  return file;
}

function loadError(text: string, env: Record<string, string> = {}): ConfigError {
  return thrown(() => loadConfig(writeConfig(text), env), ConfigError);
}

describe('loadConfig defaults', () => {
  it('fills every default from an empty file', () => {
    const file = writeConfig('');
    const config = loadConfig(file, {});
    expect(config).toEqual({
      path: file,
      dbUrl: undefined,
      embeddedDb: { dataDirectory: join(file, '..', '.data/embedded-postgres'), port: 5433 },
      domain: undefined,
      statusPage: false,
      listenAddress: '127.0.0.1',
      httpsListenAddress: '127.0.0.1',
      httpPort: 8080,
      httpsPort: 8443,
      tls: undefined,
      trustedProxies: [],
      log: { level: 'info', file: undefined },
      user: { tmpAdmin: undefined, tmpAdminKey: undefined, expirationPeriodMs: 366 * 86_400_000 },
      dosPrevention: {
        limit: 100,
        periodMs: 60_000,
        newUserLimit: 10,
        newUserLimitPerAddress: 3,
        bodyTimeoutMs: 10_000,
      },
      auth: { signatureWindowMs: 300_000 },
      tasks: [],
      databaseBackup: undefined,
      notify: [],
    });
  });

  it('fills the task defaults', () => {
    const file = writeConfig(BACKUP + '[[tasks]]\nname = "future_task"\n');
    const config = loadConfig(file, {});
    expect(config.tasks).toEqual([
      { name: 'database_backup', periodMs: 86_400_000, scheduled: true },
      { name: 'future_task', periodMs: 86_400_000, scheduled: true },
    ]);
    expect(config.databaseBackup).toEqual({
      directory: join(file, '..', 'backups'),
      periodMs: 86_400_000,
      scheduled: true,
      keep: null,
      keepOldDatabase: false,
      rehearse: false,
      verifyAfterBackup: false,
      executor: { kind: 'local' },
      signingKey: { path: join(file, '..', 'backup-signing-key.pem'), generate: true },
      trustedKeys: [],
      compression: 'zstd',
      encryptionRecipients: [],
      encryptionIdentityFile: undefined,
      heartbeatUrl: null,
    });
  });

  it('reads every key when given', () => {
    const file = writeConfig(`
      db_url = "postgres://bom:pw@db.example:5432/bomnipotent"
      domain = "bom.example"
      http_port = 80
      https_port = 443
      [tls]
      certificate_chain_path = "/tls/chain.pem"
      secret_key_path = "key.pem"
      [log]
      level = "debug"
      file = "server.log"
      [user]
      tmp_admin = "admin@example.com:SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
      expiration_period = "30 days"
      [dos_prevention]
      limit = 50
      period = "30s"
      new_user_limit = 3
      [auth]
      signature_window = "2 min"
      [embedded_db]
      data_directory = "/var/lib/pg"
      port = 6543
      [[tasks]]
      name = "database_backup"
      directory = "/backups"
      period = "3h"
      scheduled = false
      keep = 7
      keep_old_database = true
      verify_after_backup = true
      executor = "sidecar"
      executor_url = "http://executor:8081"
      executor_token = "0123456789abcdef0123"
    `);
    const config = loadConfig(file, {});
    expect(config).toMatchObject({
      dbUrl: 'postgres://bom:pw@db.example:5432/bomnipotent',
      domain: 'bom.example',
      httpPort: 80,
      httpsPort: 443,
      tls: { certificateChainPath: '/tls/chain.pem', secretKeyPath: join(file, '..', 'key.pem') },
      log: { level: 'debug', file: join(file, '..', 'server.log') },
      user: { tmpAdmin: 'admin@example.com', expirationPeriodMs: 30 * 86_400_000 },
      dosPrevention: { limit: 50, periodMs: 30_000, newUserLimit: 3 },
      auth: { signatureWindowMs: 120_000 },
      embeddedDb: { dataDirectory: '/var/lib/pg', port: 6543 },
      tasks: [{ name: 'database_backup', periodMs: 10_800_000, scheduled: false }],
      databaseBackup: {
        directory: '/backups',
        periodMs: 10_800_000,
        scheduled: false,
        keep: 7,
        keepOldDatabase: true,
        rehearse: false,
        verifyAfterBackup: true,
        executor: { kind: 'sidecar', url: 'http://executor:8081', token: '0123456789abcdef0123' },
      },
    });
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(writeConfig(BACKUP), {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.databaseBackup?.executor)).toBe(true);
    expect(Object.isFrozen(config.tasks[0])).toBe(true);
    expect(() => {
      (config as { httpPort: number }).httpPort = 1;
    }).toThrow(TypeError);
  });
});

describe('environment', () => {
  it('substitutes ${NAME} from the environment and from .env, the environment winning', () => {
    const file = writeConfig(
      'domain = "${DOMAIN}"\nhttp_port = ${PORT}\n[log]\nlevel = "${LEVEL}"\n',
      '# settings\nDOMAIN=from-file.example\nPORT=9000\nLEVEL="debug"\n',
    );
    const config = loadConfig(file, { DOMAIN: 'from-env.example' });
    expect(config.domain).toBe('from-env.example');
    expect(config.httpPort).toBe(9000);
    expect(config.log.level).toBe('debug');
  });

  it('names an unset variable and its line', () => {
    const error = loadError('http_port = 8080\ndomain = "${NO_SUCH_VARIABLE}"\n');
    expect(error.message).toMatch(/NO_SUCH_VARIABLE is not set/);
    expect(error.message).toMatch(/config\.toml" uses \$\{NO_SUCH_VARIABLE\} at line 2/);
  });
});

describe('validation messages', () => {
  it('names an unknown top-level key and lists the accepted ones', () => {
    const error = loadError('htp_port = 8080\n');
    expect(error.message).toContain('config.toml');
    expect(error.message).toContain('unknown key "htp_port" (did you mean "http_port"?)');
    expect(error.message).toMatch(/the top level accepts: db_url, domain, http_port, https_port, tls, log,/);
  });

  it('names an unknown key in [log]', () => {
    const error = loadError('[log]\nlevel = "info"\ncolour = true\n');
    expect(error.message).toContain('unknown key "log.colour"; [log] accepts: level, file');
  });

  it('names an unknown key in a task with its index', () => {
    const error = loadError(BACKUP + 'keeep = 3\n');
    expect(error.message).toContain('unknown key "tasks[0].keeep" (did you mean "keep"?)');
    expect(error.message).toContain(
      '[[tasks]] with name = "database_backup" accepts: name, period, scheduled',
    );
    expect(error.message).toContain('executor_token');
  });

  it('rejects backup keys on a task it does not know, and says which tasks it knows', () => {
    const error = loadError('[[tasks]]\nname = "database_bakup"\ndirectory = "/b"\n');
    expect(error.message).toContain('unknown key "tasks[0].directory"');
    expect(error.message).toContain('not a task this server knows; known: database_backup');
  });

  it('reports the line and column of a TOML syntax error', () => {
    const file = writeConfig('http_port = 8080\n[log]\nlevel = "info\n');
    expect(() => loadConfig(file, {})).toThrow(
      new RegExp(`^Invalid TOML in "${file.replace(/[.]/g, '\\.')}" at line 3, column \\d+: .+\\.$`),
    );
  });

  it('words wrong types and values with the key', () => {
    expect(loadError('http_port = "80"\n').message).toContain('http_port must be a number (found a text)');
    expect(loadError('[log]\nlevel = "loud"\n').message).toContain(
      'log.level must be one of "error", "warn", "info", "debug", "trace"',
    );
    expect(loadError('[[tasks]]\nname = "database_backup"\n').message).toContain(
      'tasks[0].directory is required',
    );
    expect(loadError(BACKUP + 'keep = 0\n').message).toContain('tasks[0].keep must be at least 1');
    expect(loadError('[tls]\nsecret_key_path = "k"\n').message).toContain(
      'tls.certificate_chain_path is required',
    );
    expect(loadError('https_port = 443\n').message).toContain('no [tls] section');
    expect(loadError('[tasks]\nname = "x"\n').message).toContain('double brackets');
  });

  it('lists several problems at once', () => {
    const message = loadError('http_port = 70000\n[log]\nlevel = "loud"\n').message;
    expect(message).toMatch(/\n {2}- http_port must be at most 65535\.\n {2}- log\.level must be one of/);
  });

  it('refuses a duplicate task', () => {
    expect(loadError(BACKUP + BACKUP).message).toContain('the task "database_backup" appears twice');
  });
});

describe('durations', () => {
  it.each(['5', '1 fortnight', '-1 day', '0 days'])('refuses period = %j', (period) => {
    expect(loadError(`[[tasks]]\nname = "other"\nperiod = "${period}"\n`).message).toContain(
      `Invalid duration "${period}" for tasks[0].period: use a number and a unit, for example "1 day", "3h", "90 min".`,
    );
  });

  it.each([
    ['1 day', 86_400_000],
    ['3h', 10_800_000],
    ['2 days', 172_800_000],
    ['90 min', 5_400_000],
  ])('reads period = %j', (period, ms) => {
    const config = loadConfig(writeConfig(`[[tasks]]\nname = "other"\nperiod = "${period}"\n`), {});
    expect(config.tasks[0]?.periodMs).toBe(ms);
  });

  it('checks durations in the other tables too', () => {
    expect(loadError('[auth]\nsignature_window = "5"\n').message).toContain(
      'Invalid duration "5" for auth.signature_window',
    );
    expect(loadError('[user]\nexpiration_period = 366\n').message).toContain(
      'user.expiration_period must be a duration in quotes',
    );
  });
});

describe('db_url', () => {
  it.each([
    ['mysql://bom:Sup3rSecretPw@db:3306/bom', 'the scheme must be postgres:// or postgresql://'],
    ['postgres://bom:Sup3rSecretPw@db:5432/', 'the database name is missing'],
    ['postgres://bom:Sup3rSecretPw@db:5432', 'the database name is missing'],
    ['bom:Sup3rSecretPw@db/bom', 'the scheme must be postgres:// or postgresql://'],
  ])('refuses %s without showing the password', (url, problem) => {
    const message = loadError(`db_url = "${url}"\n`).message;
    expect(message).toContain(
      'db_url must look like "postgres://<user>:<password>@<host>:<port>/<database>"',
    );
    expect(message).toContain(problem);
    expect(message).not.toContain('Sup3rSecretPw');
  });

  it('accepts postgresql:// and keeps the password out of other messages', () => {
    const config = loadConfig(writeConfig('db_url = "postgresql://bom:An0therPw@db/bom"\n'), {});
    expect(config.dbUrl).toBe('postgresql://bom:An0therPw@db/bom');
    expect(maskSecrets('connecting with An0therPw')).toBe('connecting with ***');
  });

  it('masks user and password in maskUrl', () => {
    expect(maskUrl('postgres://bom:pw@host:5432/db')).toBe('postgres://***:***@host:5432/db');
    expect(maskUrl('postgres://bom@host/db')).toBe('postgres://***@host/db');
    expect(maskUrl('postgres://bom:p@ss@host/db')).toBe('postgres://***:***@host/db');
    expect(maskUrl('postgres://host/db')).toBe('postgres://host/db');
  });
});

describe('tasks', () => {
  it('accepts enabled as the older name of scheduled', () => {
    const config = loadConfig(writeConfig(BACKUP + 'enabled = false\n'), {});
    expect(config.databaseBackup?.scheduled).toBe(false);
    expect(config.tasks[0]?.scheduled).toBe(false);
    expect(
      loadConfig(writeConfig(BACKUP + 'enabled = true\nscheduled = true\n'), {}).tasks[0]?.scheduled,
    ).toBe(true);
  });

  it('refuses enabled and scheduled that disagree', () => {
    expect(loadError(BACKUP + 'enabled = false\nscheduled = true\n').message).toContain(
      'tasks[0].enabled contradicts scheduled',
    );
  });

  it('requires executor_url and executor_token for the sidecar executor, and hides the token', () => {
    const message = loadError(BACKUP + 'executor = "sidecar"\n').message;
    expect(message).toContain('tasks[0].executor_url is required when executor = "sidecar"');
    expect(message).toContain('tasks[0].executor_token is required when executor = "sidecar"');
    const short = loadError(
      BACKUP + 'executor = "sidecar"\nexecutor_url = "http://e:1"\nexecutor_token = "shortTok"\n',
    );
    expect(short.message).toContain('tasks[0].executor_token must be at least 16 characters long');
    expect(short.message).not.toContain('shortTok');
    expect(loadError(BACKUP + 'executor_url = "http://e:1"\n').message).toContain(
      'executor_url is only used with executor = "sidecar"',
    );
    expect(loadError(BACKUP + 'executor = "sidecar"\nexecutor_url = "ftp://e"\n').message).toContain(
      'must be an http:// or https:// URL',
    );
  });

  it('registers the executor token as a secret', () => {
    loadConfig(
      writeConfig(
        BACKUP +
          'executor = "sidecar"\nexecutor_url = "http://e:1"\nexecutor_token = "tok-9f8e7d6c5b4a3210"\n',
      ),
      {},
    );
    expect(maskSecrets('sent tok-9f8e7d6c5b4a3210')).toBe('sent ***');
  });

  it('resolves relative directories against the config file, not the working directory', () => {
    const file = writeConfig(
      '[[tasks]]\nname = "database_backup"\ndirectory = "../backups"\n[embedded_db]\ndata_directory = "pg"\n',
    );
    const config = loadConfig(file, {});
    expect(config.databaseBackup?.directory).toBe(join(file, '..', '..', 'backups'));
    expect(config.embeddedDb.dataDirectory).toBe(join(file, '..', 'pg'));
  });
});

describe('resolveConfigPath', () => {
  it('prefers --config, then BOMNIPOTENT_CONFIG, then the default', () => {
    expect(resolveConfigPath('/a/config.toml', { BOMNIPOTENT_CONFIG: '/b/config.toml' })).toBe(
      '/a/config.toml',
    );
    expect(resolveConfigPath(undefined, { BOMNIPOTENT_CONFIG: '/b/config.toml' })).toBe('/b/config.toml');
    expect(resolveConfigPath(undefined, {})).toBe('/etc/bomnipotent_server/configs/config.toml');
    expect(resolveConfigPath('rel.toml', {})).toBe(join(process.cwd(), 'rel.toml'));
  });

  it('reports a missing file with the fix', () => {
    expect(() => loadConfig('/nonexistent/config.toml', {})).toThrow(
      /Cannot read the configuration file "\/nonexistent\/config\.toml": the file does not exist\. Pass --config PATH/,
    );
  });
});

describe('describeConfig', () => {
  it('is one line without user or password', () => {
    const config = loadConfig(
      writeConfig('db_url = "postgres://bomuser:Pw4Describe@db:5432/bom"\n' + BACKUP),
      {},
    );
    const line = describeConfig(config);
    expect(line).not.toContain('\n');
    expect(line).not.toContain('Pw4Describe');
    expect(line).not.toContain('bomuser');
    expect(line).toContain('database postgres://***:***@db:5432/bom');
    expect(line).toContain('database_backup every 1d');
  });

  it('names the embedded database when there is no db_url', () => {
    const file = writeConfig('');
    expect(describeConfig(loadConfig(file, {}))).toMatch(
      /embedded PostgreSQL in "[^"]+" on port 5433, database bomnipotent;/,
    );
  });
});

describe('the shipped example', () => {
  it('loads examples/config.toml', () => {
    const config = loadConfig(join(import.meta.dirname, '../../examples/config.toml'), {});
    expect(config.dbUrl).toBeUndefined();
    expect(config.httpPort).toBe(8080);
    expect(config.databaseBackup?.directory).toBe(join(import.meta.dirname, '../../backups'));
    expect(config.embeddedDb.dataDirectory).toBe(join(import.meta.dirname, '../../.data/embedded-postgres'));
  });
});
