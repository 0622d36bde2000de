import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { BASE, mockServer, runAgainstMock } from '../support/msw-client';

const server = mockServer();

const metadata = {
  format: 'bomnipotent-backup/1',
  file: 'bomnipotent_db_20260111_103024.dump',
  sha256: 'ab'.repeat(32),
  sizeBytes: 2048,
  database: 'bomnipotent_db',
  serverVersion: '15.20',
  pgDumpVersion: '15.20',
  schemaVersion: 2,
  appVersion: '0.1.0',
  startedAt: '2026-01-11T10:30:24.000Z',
  durationMs: 1500,
  trigger: 'manual',
  user: 'admin@example.com',
  path: '/etc/bomnipotent_server/backups/bomnipotent_db_20260111_103024.dump',
};

const run = runAgainstMock;

describe('database-backup create', () => {
  it('prints the exact success line with the absolute path on the server', async () => {
    server.use(http.post(`${BASE}/database-backup`, () => HttpResponse.json(metadata, { status: 201 })));
    const result = await run('database-backup', 'create');
    expect(result.stdout).toBe(
      "[INFO] Successfully stored database backup under '/etc/bomnipotent_server/backups/bomnipotent_db_20260111_103024.dump'.\n",
    );
    expect(result.exitCode).toBe(0);
  });

  it('prints a [WARN] line after the success line when the off-site copy failed, exit code 0', async () => {
    const warning =
      'The off-site copy failed; the backup is kept locally and copied on the next run: Could not load credentials from any providers.';
    server.use(
      http.post(`${BASE}/database-backup`, () =>
        HttpResponse.json({ ...metadata, warnings: [warning] }, { status: 201 }),
      ),
    );
    const result = await run('database-backup', 'create');
    const lines = `${result.stdout}${result.stderr}`.trimEnd().split('\n');
    expect(lines).toEqual([
      "[INFO] Successfully stored database backup under '/etc/bomnipotent_server/backups/bomnipotent_db_20260111_103024.dump'.",
      `[WARN] ${warning}`,
    ]);
    expect(result.stdout.startsWith('[INFO] Successfully stored')).toBe(true);
    expect(result.exitCode).toBe(0);
    // Raw mode: the body as it came, warnings included; the warning line goes to stderr.
    const raw = await run('-o', 'raw', 'database-backup', 'create');
    expect(JSON.parse(raw.stdout)).toMatchObject({ warnings: [warning] });
    expect(raw.stderr).toBe(`[WARN] ${warning}\n`);
  });

  it('prints the metadata as JSON in raw mode', async () => {
    server.use(http.post(`${BASE}/database-backup`, () => HttpResponse.json(metadata, { status: 201 })));
    const result = await run('-o', 'raw', 'database-backup', 'create');
    expect(JSON.parse(result.stdout)).toEqual(metadata);
  });

  it('prints only the status code in code mode', async () => {
    server.use(http.post(`${BASE}/database-backup`, () => HttpResponse.json(metadata, { status: 201 })));
    expect((await run('-o', 'code', 'database-backup', 'create')).stdout).toBe('201');
  });

  it('prints the server message and suggestion and exits 1 on an error', async () => {
    server.use(
      http.post(`${BASE}/database-backup`, () =>
        HttpResponse.json(
          {
            code: 'BACKUP.TASK_NOT_CONFIGURED',
            status: 500,
            detail: 'The database_backup task is not configured, so the server has no backup directory.',
            suggestion: 'Add this section to the server\'s config.toml:\n[[tasks]]\nname = "database_backup"',
          },
          { status: 500, headers: { 'content-type': 'application/problem+json' } },
        ),
      ),
    );
    const result = await run('database-backup', 'create');
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      '[ERROR] The database_backup task is not configured, so the server has no backup directory.\n',
    );
    expect(result.stderr).toContain('name = "database_backup"');
  });
});

/** A trusted manual backup as the server lists it. */
const manualBackup = {
  file: 'bomnipotent_db_20260111_103024.dump',
  path: '/b/bomnipotent_db_20260111_103024.dump',
  takenAt: '2026-01-11T10:30:24.000Z',
  sizeBytes: 2048,
  trigger: 'manual',
  user: 'admin@example.com',
  verified: true,
};

/** `database-backup list` against a server that lists `body`. */
function listAnswering(body: { backups: unknown[] }) {
  server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json(body)));
  return run('database-backup', 'list');
}

describe('database-backup list', () => {
  const backups = [
    manualBackup,
    {
      file: 'bomnipotent_db_20260110_000000.dump',
      path: '/b/bomnipotent_db_20260110_000000.dump',
      takenAt: '2026-01-10T00:00:00.000Z',
      sizeBytes: 3 * 1024 * 1024,
      trigger: 'scheduled',
      user: null,
      verified: false,
      problem: 'checksum mismatch',
    },
  ];

  it('prints a table in normal mode', async () => {
    const result = await listAnswering({ backups });
    expect(result.stdout).toBe(
      [
        '[INFO] Found 2 database backup(s), newest first:',
        'TIME (UTC)           FILE                                 SIZE    TRIGGER    TRUST',
        '2026-01-11 10:30:24  bomnipotent_db_20260111_103024.dump  2.0 KB  manual     ✓ trusted',
        '2026-01-10 00:00:00  bomnipotent_db_20260110_000000.dump  3.0 MB  scheduled  ✗ untrusted: checksum mismatch',
        '',
      ].join('\n'),
    );
  });

  it('prints the JSON body in raw mode', async () => {
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json({ backups })));
    const result = await run('-o', 'raw', 'database-backup', 'list');
    expect(JSON.parse(result.stdout)).toEqual({ backups });
  });

  it('says so when there are no backups', async () => {
    server.use(http.get(`${BASE}/database-backup`, () => HttpResponse.json({ backups: [] })));
    expect((await run('database-backup', 'list')).stdout).toBe(
      '[INFO] No database backups on the server yet.\n',
    );
  });

  it('prints a refusal for a non-admin', async () => {
    server.use(
      http.get(`${BASE}/database-backup`, () =>
        HttpResponse.json(
          { code: 'AUTH.ADMIN_REQUIRED', status: 403, detail: "User 'bob' does not hold the admin role." },
          { status: 403 },
        ),
      ),
    );
    const result = await run('database-backup', 'list');
    expect(result.stderr).toBe("[ERROR] User 'bob' does not hold the admin role.\n");
    expect(result.exitCode).toBe(1);
  });
});

/** The rehearse route answers `answer`; `body` is what the client sent it. */
function rehearseAnswering(answer: Record<string, unknown>): { body: unknown } {
  const sent: { body: unknown } = { body: undefined };
  server.use(
    http.post(`${BASE}/database-backup/rehearse`, async ({ request }) => {
      sent.body = await request.json();
      return HttpResponse.json(answer);
    }),
  );
  return sent;
}

describe('rehearsals in the client', () => {
  const rehearsed = {
    ...manualBackup,
    rehearsal: {
      state: 'passed',
      at: '2026-01-11T10:31:00.000Z',
      durationMs: 900,
      tables: 3,
      rows: 1200,
      error: null,
      standby: { database: 'bomnipotent_db_standby', sizeBytes: 5 * 1024 * 1024 },
    },
  };
  const failed = {
    ...rehearsed,
    file: 'bomnipotent_db_20260110_000000.dump',
    takenAt: '2026-01-10T00:00:00.000Z',
    rehearsal: { ...rehearsed.rehearsal, state: 'failed', at: '2026-01-10T00:01:00.000Z', standby: null },
  };
  const never = {
    ...rehearsed,
    file: 'bomnipotent_db_20260109_000000.dump',
    takenAt: '2026-01-09T00:00:00.000Z',
    rehearsal: null,
  };

  it('list shows the rehearsal as its own column and the standby with its size', async () => {
    const result = await listAnswering({ backups: [rehearsed, failed, never] });
    expect(result.stdout).toBe(
      [
        '[INFO] Found 3 database backup(s), newest first:',
        'TIME (UTC)           FILE                                 SIZE    TRIGGER  REHEARSED                       TRUST',
        '2026-01-11 10:30:24  bomnipotent_db_20260111_103024.dump  2.0 KB  manual   ✓ 2026-01-11 10:31 (1200 rows)  ✓ trusted',
        '2026-01-10 00:00:00  bomnipotent_db_20260110_000000.dump  2.0 KB  manual   ✗ failed 2026-01-10 00:01       ✓ trusted',
        '2026-01-09 00:00:00  bomnipotent_db_20260109_000000.dump  2.0 KB  manual   -                               ✓ trusted',
        "Standby database 'bomnipotent_db_standby' (5.0 MB, one more copy of the database) was built from bomnipotent_db_20260111_103024.dump.",
        '',
      ].join('\n'),
    );
  });

  it('rehearse posts the file and prints the result line', async () => {
    const sent = rehearseAnswering({
      file: rehearsed.file,
      tables: 3,
      rows: 1200,
      durationMs: 900,
      standby: { database: 'bomnipotent_db_standby', sizeBytes: 5 * 1024 * 1024 },
    });
    const result = await run('database-backup', 'rehearse', '--file', rehearsed.file);
    expect(sent.body).toEqual({ file: rehearsed.file });
    expect(result.stdout).toBe(
      "[INFO] Rehearsal of 'bomnipotent_db_20260111_103024.dump' passed: 3 tables, 1200 rows restored in 0.9 s. The standby database 'bomnipotent_db_standby' holds it (5.0 MB).\n",
    );
    expect(result.exitCode).toBe(0);
  });

  it('rehearse --pitr posts pitr and prints the restored point, and the rehearsal line stays as it was', async () => {
    const sent = rehearseAnswering({
      mark: { at: '2026-01-11T10:31:02.123Z', lsn: '0/3000148', tableRows: { 'public.docs': 7 } },
      base: 'base/20260111T100000Z.tar.zst',
      segments: 4,
      recoveredRows: { 'public.docs': 7, 'public.users': 2 },
      durationMs: 12_300,
    });
    const result = await run('database-backup', 'rehearse', '--pitr');
    expect(sent.body).toEqual({ pitr: true });
    expect(result.stdout).toBe(
      '[INFO] PITR rehearsal passed: restored to 2026-01-11T10:31:02.123Z (WAL 0/3000148) from pitr/base/20260111T100000Z.tar.zst and 4 WAL segment(s); 2 tables, 9 rows as the source had them, in 12.3 s.\n',
    );
    expect(result.exitCode).toBe(0);
  });

  it('list prints the last PITR rehearsal below the window, a failed one as a warning', async () => {
    const listing = (pitrRehearsal: unknown) =>
      HttpResponse.json({ backups: [], chain: { problem: null }, pitrRehearsal });
    const failed = {
      trusted: true,
      rehearsedAt: '2026-01-11T10:31:00.000Z',
      point: '2026-01-11T10:30:59.500Z',
      passed: false,
      tables: 1,
      rows: 0,
      durationMs: 9000,
      error:
        'row counts differ from the source at that point: public.cache has 0 rows in the recovered copy, the source had 3.',
    };
    server.use(http.get(`${BASE}/database-backup`, () => listing(failed)));
    const result = await run('database-backup', 'list');
    expect(result.stdout + result.stderr).toContain(
      '[WARN] Last PITR rehearsal: FAILED at 2026-01-11 10:31:00 UTC (a restore to 2026-01-11 10:30:59 UTC): row counts differ from the source at that point: public.cache has 0 rows in the recovered copy, the source had 3.',
    );
    server.use(http.get(`${BASE}/database-backup`, () => listing(null)));
    expect((await run('database-backup', 'list')).stdout).toContain('Last PITR rehearsal: none yet.');
  });
});
