// Leaks caught at start: log lines that a request could forge, a log file others can read, sensitive files with
// open modes, and password files left by a killed pg tool run.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PASSFILE_DIR_PREFIX } from '../../runtime/executor/pg-env';
import { createLogger } from '../../runtime/observability/logger';
import { checkFileModes, sweepLeftoverPassfiles } from '../../runtime/startup/file-checks';
import { testConfig } from '../support/config-fixture';

const temps: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-start-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const capture = () => {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }) };
};

describe('log lines', () => {
  it('escape control characters, so that a path or X-Forwarded-For cannot forge a line', () => {
    const { lines, logger } = capture();
    logger.info('GET /x\n2026-01-01 00:00:00 +00:00 [ERROR] forged\r\u001b[31m\u2028 from 1.2.3.4');
    expect(lines).toHaveLength(1);
    // eslint-disable-next-line no-control-regex -- exactly what must not reach the log
    expect(lines[0]).not.toMatch(/[\n\r\u001b\u2028]/);
    expect(lines[0]).toContain('/x\\n2026-01-01 00:00:00 +00:00 [ERROR] forged\\r\\u001b[31m\\u2028 from');
  });

  it('go to a log file created 0600', () => {
    const file = join(scratch(), 'server.log');
    createLogger({ level: 'info', file, write: () => {} }).info('hello');
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('checkFileModes', () => {
  it('warns about a backup directory, log file or config that group or others can read, and not about private ones', () => {
    const dir = scratch();
    const backups = join(dir, 'backups');
    mkdirSync(backups, { mode: 0o755 });
    chmodSync(backups, 0o755);
    writeFileSync(join(backups, 'audit.log.jsonl'), '', { mode: 0o644 });
    chmodSync(join(backups, 'audit.log.jsonl'), 0o644);
    const log = join(dir, 'server.log');
    writeFileSync(log, '', { mode: 0o600 });
    const config = join(dir, 'config.toml');
    writeFileSync(config, 'db_url = "postgres://bom:Literal-pw-1@db:5432/bom"\n');
    chmodSync(config, 0o644);
    const { lines, logger } = capture();
    checkFileModes(
      testConfig({
        path: config,
        log: { level: 'info', file: log },
        databaseBackup: {
          directory: backups,
          periodMs: 1,
          scheduled: false,
          keep: null,
          keepOldDatabase: false,
          verifyAfterBackup: false,
          executor: { kind: 'local' },
          signingKey: { path: join(dir, 'backup-signing-key.pem'), generate: true },
          trustedKeys: [],
          compression: 'zstd',
          encryptionRecipients: [],
          encryptionIdentityFile: undefined,
        },
      }),
      logger,
    );
    expect(
      lines.filter((l) => l.includes('[WARN]')),
      lines.join('\n'),
    ).toHaveLength(3);
    expect(lines.join('\n')).toContain('(the audit log of backups and restores)');
    expect(lines.join('\n')).toContain(`"${backups}" (the backup directory`);
    expect(lines.join('\n')).toContain(`chmod 700 "${backups}"`);
    expect(lines.join('\n')).toContain(`chmod 600 "${config}"`);
    expect(lines.join('\n')).toContain('(the configuration, which holds a password or token)');
    expect(lines.join('\n')).not.toContain(log);
  });

  it('says nothing about a readable config that holds no secret of its own (the shipped example, ${NAME} references)', () => {
    const dir = scratch();
    const config = join(dir, 'config.toml');
    const { lines, logger } = capture();
    const texts = [
      readFileSync(join(import.meta.dirname, '../../examples/config.toml'), 'utf8'),
      '# db_url = "postgres://bom:commented-out@db/bom"\ndb_url = "postgres://bom:${BOM_PW}@db/bom"\n',
      '[[tasks]]\nname = "database_backup"\nexecutor_token = "${EXECUTOR_TOKEN}"\n[tls]\nsecret_key_path = "k.pem"\n',
    ];
    for (const text of texts) {
      writeFileSync(config, text);
      chmodSync(config, 0o644);
      checkFileModes(testConfig({ path: config }), logger);
    }
    expect(lines).toEqual([]);
    writeFileSync(
      config,
      '[[tasks]]\nname = "database_backup"\nexecutor_token = "0123456789abcdef-literal"\n',
    );
    checkFileModes(testConfig({ path: config }), logger);
    expect(lines.join('\n')).toContain(`chmod 600 "${config}"`);
  });
});

describe('sweepLeftoverPassfiles', () => {
  it('removes the password folders of dead processes and keeps those of live ones', async () => {
    const root = scratch();
    // A process that has exited: its pid is free (reuse within this test is not a concern on a quiet machine).
    const dead = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    const left = join(root, `${PASSFILE_DIR_PREFIX}${dead}-abc123`);
    const live = join(root, `${PASSFILE_DIR_PREFIX}${process.pid}-def456`);
    const foreign = join(root, 'bomnipotent-other-1');
    const unnumbered = join(root, `${PASSFILE_DIR_PREFIX}123456`); // an older build's folder: no pid to judge by
    for (const dir of [left, live, foreign, unnumbered]) {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pgpass'), '*:*:*:*:secret\n', { mode: 0o600 });
    }
    const { lines, logger } = capture();
    expect(await sweepLeftoverPassfiles({ TMPDIR: root }, logger)).toBe(1);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
    expect(existsSync(unnumbered)).toBe(true);
    expect(lines.join('\n')).toContain('Removed 1 password file(s)');
  });
});
