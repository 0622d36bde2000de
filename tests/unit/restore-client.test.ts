import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../client/program';
import { runClientProgram } from '../support/client-program';
import { BASE, mockServer, runAgainstMock } from '../support/msw-client';

const PATH = '/etc/bomnipotent_server/backups/bomnipotent_db_20260111_103024.dump';
const server = mockServer();

const run = runAgainstMock;

/** Answers the restore route and remembers the body it was sent. */
function restoreRoute(sent: unknown[], answer: (body: { dryRun?: boolean }) => Response) {
  return http.post(`${BASE}/database-backup/restore`, async ({ request }) => {
    const body = (await request.json()) as { dryRun?: boolean };
    sent.push(body);
    return answer(body);
  });
}

const ok = (body: { dryRun?: boolean }) =>
  HttpResponse.json({ path: PATH, dryRun: body.dryRun === true, metadata: {} });

describe('database-backup completely-restore', () => {
  it('prints the exact success line with the absolute path on the server', async () => {
    const sent: unknown[] = [];
    server.use(restoreRoute(sent, ok));
    const result = await run('database-backup', 'completely-restore');
    expect(result.stdout).toBe(`[INFO] Successfully restored database from backup '${PATH}'.\n`);
    expect(result.exitCode).toBe(0);
    expect(sent).toEqual([{}]);
  });

  it('sends --dry-run and --file, and says that nothing was changed', async () => {
    const sent: unknown[] = [];
    server.use(restoreRoute(sent, ok));
    const result = await run(
      'database-backup',
      'completely-restore',
      '--dry-run',
      '--file',
      'bomnipotent_db_20260111_103024.dump',
    );
    expect(sent).toEqual([{ dryRun: true, file: 'bomnipotent_db_20260111_103024.dump' }]);
    expect(result.stdout).toBe(
      `[INFO] Dry run: backup '${PATH}' verifies and would be restored; nothing was changed.\n`,
    );
  });

  it('names the object a dry run would download when the backup is only off-site', async () => {
    const file = 'bomnipotent_db_20260111_103024.dump.zst';
    server.use(
      restoreRoute([], () =>
        HttpResponse.json({
          path: `/backups/${file}`,
          dryRun: true,
          metadata: {},
          offsite: {
            location: 's3://my-backups/bomnipotent/',
            bucket: 'my-backups',
            key: `bomnipotent/${file}`,
            directory: '/backups',
          },
        }),
      ),
    );
    const result = await run('database-backup', 'completely-restore', '--dry-run');
    expect(result.stdout).toBe(
      `[INFO] Dry run: backup '${file}' is only in s3://my-backups/bomnipotent/; a restore would download it ` +
        `(object 'bomnipotent/${file}' in bucket 'my-backups') into '/backups', verify it and restore it; nothing was changed.\n`,
    );
  });

  it('a dry run shows the backup, its key, time and size, and its rows per table against the live ones', async () => {
    const preview = {
      file: 'bomnipotent_db_20260111_103024.dump',
      database: 'bomnipotent_db',
      signedBy: 'ed25519:AAAA',
      takenAt: '2026-01-11T10:30:24.000Z',
      sizeBytes: 2_621_440,
      serverVersion: '15.20',
      tables: [
        { table: 'public.docs', backupRows: 120, liveRows: 121 },
        { table: 'public.users', backupRows: 3, liveRows: 3 },
      ],
      rowsUnknown: null,
    };
    server.use(
      restoreRoute([], () => HttpResponse.json({ path: PATH, dryRun: true, metadata: {}, preview })),
    );
    const result = await run('database-backup', 'completely-restore', '--dry-run');
    expect(result.stdout).toBe(
      `[INFO] Dry run: backup '${PATH}' verifies and would be restored; nothing was changed.\n` +
        'Backup:   bomnipotent_db_20260111_103024.dump\n' +
        "Of:       database 'bomnipotent_db' on PostgreSQL 15.20, taken 2026-01-11T10:30:24.000Z, 2.5 MB\n" +
        'Signed:   ed25519:AAAA\n' +
        'Table             backup    live now\n' +
        'public.docs          120         121  *\n' +
        'public.users           3           3\n',
    );
  });

  describe('at a terminal', () => {
    const file = 'bomnipotent_db_20260111_103024.dump';
    const preview = {
      file,
      database: 'bomnipotent_db',
      signedBy: 'ed25519:AAAA',
      takenAt: '2026-01-11T10:30:24.000Z',
      sizeBytes: 2_621_440,
      serverVersion: '15.20',
      tables: [{ table: 'public.docs', backupRows: 120, liveRows: 121 }],
      rowsUnknown: null,
    };
    const answer = (body: { dryRun?: boolean }) =>
      HttpResponse.json({ path: PATH, dryRun: body.dryRun === true, metadata: {}, preview });
    const terminal = (reply: string, asked: string[]) => ({
      ask: async (question: string) => {
        asked.push(question);
        return reply;
      },
    });

    it('shows the preview, asks, and on yes restores exactly the previewed file', async () => {
      const sent: unknown[] = [];
      const asked: string[] = [];
      server.use(restoreRoute(sent, answer));
      const result = await runClientProgram(
        '/nonexistent-bomnipotent-test',
        ['-d', BASE, 'database-backup', 'completely-restore'],
        terminal('yes\n', asked),
      );
      expect(sent).toEqual([{ dryRun: true }, { file }]);
      expect(asked).toEqual([`Replace the database with backup '${file}'? Type yes to go on: `]);
      expect(result.stdout).toContain(
        'This replaces the whole database with this backup:\nBackup:   ' + file,
      );
      expect(result.stdout).toMatch(/public\.docs +120 +121 {2}\*/);
      expect(result.stdout).toContain(`[INFO] Successfully restored database from backup '${PATH}'.`);
      expect(result.exitCode).toBe(0);
    });

    it('--expect-newest is checked by the preview; the restore then names the previewed file alone', async () => {
      const sent: unknown[] = [];
      server.use(restoreRoute(sent, answer));
      await runClientProgram(
        '/nonexistent-bomnipotent-test',
        ['-d', BASE, 'database-backup', 'completely-restore', '--expect-newest', '42'],
        terminal('yes', []),
      );
      expect(sent).toEqual([{ dryRun: true, expectNewest: '42' }, { file }]);
    });

    it('anything but yes changes nothing: only the dry run was sent, exit code 1', async () => {
      for (const reply of ['', 'y', 'no']) {
        const sent: unknown[] = [];
        server.use(restoreRoute(sent, answer));
        const result = await runClientProgram(
          '/nonexistent-bomnipotent-test',
          ['-d', BASE, 'database-backup', 'completely-restore'],
          terminal(reply, []),
        );
        expect(sent).toEqual([{ dryRun: true }]);
        expect(result.stderr).toContain('Restore cancelled at the question; nothing was changed.');
        expect(result.exitCode).toBe(1);
      }
    });

    it('--yes, --dry-run and the raw and code modes do not ask', async () => {
      for (const args of [['--yes'], ['--dry-run'], ['-o', 'raw'], ['-o', 'code']]) {
        const sent: { dryRun?: boolean }[] = [];
        const asked: string[] = [];
        server.use(restoreRoute(sent, answer));
        const global = args[0] === '-o' ? args : [];
        const local = args[0] === '-o' ? [] : args;
        await runClientProgram(
          '/nonexistent-bomnipotent-test',
          ['-d', BASE, ...global, 'database-backup', 'completely-restore', ...local],
          terminal('no', asked),
        );
        expect(asked).toEqual([]);
        expect(sent).toHaveLength(1);
      }
    });
  });

  it('prints the server message and suggestion on a refusal, exit code 1', async () => {
    server.use(
      restoreRoute([], () =>
        HttpResponse.json(
          {
            code: 'BACKUP.VERIFICATION_FAILED',
            detail: `The backup '${PATH}' fails verification: checksum mismatch.`,
            suggestion: 'Nothing was changed.',
          },
          { status: 409 },
        ),
      ),
    );
    const result = await run('database-backup', 'completely-restore');
    expect(result.stderr).toContain(`[ERROR] The backup '${PATH}' fails verification: checksum mismatch.`);
    expect(result.stderr).toContain('[ERROR] Nothing was changed.');
    expect(result.exitCode).toBe(1);
  });

  it('refuses --allow-unsigned without --file before sending anything: an untrusted file is never "the latest"', async () => {
    const sent: unknown[] = [];
    server.use(restoreRoute(sent, ok));
    const result = await run('database-backup', 'completely-restore', '--allow-unsigned');
    expect(sent).toEqual([]);
    expect(result.stderr).toContain('--allow-unsigned needs --file <name>');
    expect(result.exitCode).toBe(1);
    const named = await run(
      'database-backup',
      'completely-restore',
      '--allow-unsigned',
      '--file',
      'bomnipotent_db_20260111_103024.dump',
    );
    expect([named.exitCode, sent]).toEqual([
      0,
      [{ file: 'bomnipotent_db_20260111_103024.dump', allowUnsigned: true }],
    ]);
  });

  it('sends --allow-no-admin, and prints the refusal that names it', async () => {
    const sent: unknown[] = [];
    server.use(restoreRoute(sent, ok));
    expect((await run('database-backup', 'completely-restore', '--allow-no-admin')).exitCode).toBe(0);
    expect(sent).toEqual([{ allowNoAdmin: true }]);
    server.use(
      restoreRoute([], () =>
        HttpResponse.json(
          {
            code: 'BACKUP.NO_ADMIN_LEFT',
            detail: "Restoring 'x.dump' would leave no approved admin with a valid key (now: a@example.com).",
            suggestion:
              'Nothing was changed. Restore another backup, or this one on purpose with --allow-no-admin.',
          },
          { status: 409 },
        ),
      ),
    );
    const refused = await run('database-backup', 'completely-restore');
    expect(refused.stderr).toContain('on purpose with --allow-no-admin');
    expect(refused.exitCode).toBe(1);
  });

  it('prints only the status code in code mode', async () => {
    server.use(restoreRoute([], ok));
    expect((await run('-o', 'code', 'database-backup', 'completely-restore')).stdout).toBe('200');
  });

  it('has no short alias', async () => {
    const program = buildProgram({ stdout: () => {}, stderr: () => {}, env: {}, setExitCode: () => {} });
    const backup = program.commands.find((c) => c.name() === 'database-backup')!;
    const restore = backup.commands.find((c) => c.name() === 'completely-restore')!;
    expect(restore.aliases()).toEqual([]);
  });
});

describe('completely-restore and the rehearsed standby', () => {
  const reason =
    "the standby database 'bomnipotent_db_standby' holds this very backup (rehearsed 2026-01-11T10:31:00.000Z, unchanged since)";
  const answering = (via: 'standby' | 'file', why: string) => (body: { dryRun?: boolean }) =>
    HttpResponse.json({
      path: PATH,
      dryRun: body.dryRun === true,
      metadata: {},
      source: { via, reason: why },
    });

  it('a dry run says which path the restore would take and why', async () => {
    server.use(restoreRoute([], answering('standby', reason)));
    expect((await run('database-backup', 'completely-restore', '--dry-run')).stdout).toBe(
      `[INFO] Dry run: backup '${PATH}' verifies and would be restored; nothing was changed.\n` +
        `It would be restored from the rehearsed standby database: ${reason}.\n`,
    );
    server.use(restoreRoute([], answering('file', 'the backup was never rehearsed')));
    expect((await run('database-backup', 'completely-restore', '--dry-run')).stdout).toBe(
      `[INFO] Dry run: backup '${PATH}' verifies and would be restored; nothing was changed.\n` +
        'It would be restored from the file: the backup was never rehearsed.\n',
    );
  });

  it('a restore keeps its exact line, followed by a line when the standby was swapped in', async () => {
    server.use(restoreRoute([], answering('standby', reason)));
    expect((await run('database-backup', 'completely-restore')).stdout).toBe(
      `[INFO] Successfully restored database from backup '${PATH}'.\n` +
        `Restored from the rehearsed standby database: ${reason}.\n`,
    );
    server.use(restoreRoute([], answering('file', 'the backup was never rehearsed')));
    expect((await run('database-backup', 'completely-restore')).stdout).toBe(
      `[INFO] Successfully restored database from backup '${PATH}'.\n`,
    );
  });
});
