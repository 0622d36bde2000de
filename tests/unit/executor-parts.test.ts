import { describe, expect, it } from 'vitest';
import { completenessProblem } from '../../runtime/executor/dump-file';
import { isPartialName } from '../../runtime/executor/directory';
import { baseEnvironment, parsePostgresUrl, passfileLine } from '../../runtime/executor/pg-env';
import {
  classifyRun,
  looksUnreachable,
  usefulStderrLine,
  type ToolRun,
} from '../../runtime/executor/process';
import { parseToolVersion } from '../../runtime/executor/tools';
import { maskSecrets } from '../../runtime/observability/mask';

const head = '--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n';
const end = '--\n-- PostgreSQL database dump complete\n--\n';

describe('completenessProblem', () => {
  it('accepts the marker with or without the \\unrestrict line and trailing blank lines', () => {
    expect(completenessProblem(head, `SELECT 1;\n\n${end}`)).toBeNull();
    expect(completenessProblem(head, `SELECT 1;\n\n${end}\n\\unrestrict abc\n\n`)).toBeNull();
    expect(
      completenessProblem(
        head.replace(/\n/g, '\r\n'),
        `${end}\r\n\\unrestrict abc\r\n`.replace(/\n(?!\r)/g, '\r\n'),
      ),
    ).toBeNull();
  });

  it('refuses a missing marker, a marker in the middle, and a foreign header', () => {
    expect(completenessProblem(head, 'INSERT INTO t VALUES (1);\n')).toMatch(/completion marker/);
    expect(completenessProblem(head, `${end}\nINSERT INTO t VALUES (1);\n`)).toMatch(/completion marker/);
    expect(completenessProblem('PGDMP\u0001', end)).toMatch(/does not start like a plain pg_dump file/);
  });
});

describe('pg-env', () => {
  it('splits a URL into libpq variables, decoding the parts, and registers the password as a secret', () => {
    const c = parsePostgresUrl(
      'postgres://b%40b:p%3Aw%2Fd%40x@db.example:6543/bom%2Ddb?sslmode=verify-full&application_name=bk',
    );
    expect(c).toEqual({
      host: 'db.example',
      port: '6543',
      user: 'b@b',
      password: 'p:w/d@x',
      database: 'bom-db',
      extra: { PGSSLMODE: 'verify-full', PGAPPNAME: 'bk' },
    });
    expect(maskSecrets('password is p:w/d@x here')).not.toContain('p:w/d@x');
  });

  it('understands socket directories and IPv6 hosts', () => {
    expect(parsePostgresUrl('postgres://u@%2Fvar%2Frun%2Fpostgresql/db').host).toBe('/var/run/postgresql');
    expect(parsePostgresUrl('postgres://u@[::1]:5432/db').host).toBe('::1');
    expect(parsePostgresUrl('postgres://u@x/db?host=/tmp').host).toBe('/tmp');
  });

  it('inherits only PATH, locale, TZ, HOME and TMPDIR: no stray PG* or secrets', () => {
    const env = baseEnvironment({
      PATH: '/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C',
      TZ: 'UTC',
      HOME: '/root',
      PGPASSWORD: 'leak',
      PGHOST: 'elsewhere',
      AWS_SECRET_ACCESS_KEY: 'leak',
    });
    expect(env).toEqual({ PATH: '/bin', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', HOME: '/root' });
  });

  it('escapes backslash and colon in the passfile line', () => {
    expect(passfileLine('a:b\\c')).toBe('*:*:*:*:a\\:b\\\\c\n');
  });
});

describe('process helpers', () => {
  const base: ToolRun = {
    exitCode: 0,
    signal: null,
    stderr: '',
    spawnError: null,
    outputError: null,
    aborted: false,
    timedOut: false,
  };

  it('classifies the most specific reason first', () => {
    expect(classifyRun(base)).toBe('ok');
    expect(
      classifyRun({ ...base, exitCode: -2, spawnError: Object.assign(new Error(), { code: 'ENOENT' }) }),
    ).toBe('not-found');
    expect(
      classifyRun({ ...base, exitCode: null, signal: 'SIGTERM', outputError: new Error('ENOSPC') }),
    ).toBe('output-error');
    expect(classifyRun({ ...base, exitCode: null, signal: 'SIGTERM', aborted: true })).toBe('aborted');
    expect(classifyRun({ ...base, exitCode: null, signal: 'SIGKILL' })).toBe('signal');
    expect(classifyRun({ ...base, exitCode: 3 })).toBe('exit');
  });

  it('picks the error line of stderr and recognises an unreachable server', () => {
    const stderr =
      'pg_dump: warning: something\npg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n';
    expect(usefulStderrLine(stderr)).toBe(
      'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused',
    );
    expect(looksUnreachable(stderr)).toBe(true);
    expect(looksUnreachable('pg_dump: error: query failed: ERROR:  permission denied for table t')).toBe(
      false,
    );
    expect(usefulStderrLine('  \n')).toBeNull();
    expect(usefulStderrLine('could not open postgres://u:hunter2@h/db')).toBe(
      'could not open postgres://u:***@h/db',
    );
  });

  it('reads tool versions', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)')).toBe('15.20');
    expect(parseToolVersion('psql (PostgreSQL) 17beta1')).toBe('17');
    expect(parseToolVersion('nonsense')).toBeNull();
  });

  it('knows our partial file names', () => {
    expect(isPartialName('.db_20260111_103024.dump.partial')).toBe(true);
    expect(isPartialName('.db_20260111_103024.dump.meta.json.partial')).toBe(true);
    expect(isPartialName('.bashrc.partial')).toBe(false);
  });
});
