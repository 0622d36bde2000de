import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalExecutor } from '../../runtime/executor/local';
import { makeToolDirectory, recordingWrapper } from '../support/fake-tools';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { dumpNamed, EXECUTOR_TRUST } from '../support/backup-signer';
import { recordingLogger } from '../support/recording-logger';

// Characters that need escaping in a URL and in a passfile.
const password = `S3cr3t:p@ss\\w0rd/${randomBytes(4).toString('hex')}`;
const role = `bt_exsecret_role_${process.pid}_${randomBytes(3).toString('hex')}`;
const lines: string[] = [];
// Records raw lines, unmasked: the executor itself must never hand the password to its logger.
const logger = recordingLogger({ bare: true, lines });

let db: TestDatabase;
let work: string;

beforeAll(async () => {
  db = await createTestDatabase('bt_exsecret');
  await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB PASSWORD '${password.replace(/'/g, "''")}'`);
  await adminQuery(`ALTER DATABASE "${db.name}" OWNER TO "${role}"`);
  work = mkdtempSync(join(tmpdir(), 'bomnipotent-exsecret-'));
});

afterAll(async () => {
  await db.drop();
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
  rmSync(work, { recursive: true, force: true });
});

describe('local executor: credentials', () => {
  it('never puts the password in argv, a log line or an error; the passfile is 0600 and gone afterwards', async () => {
    const logs = join(work, 'logs');
    const tools = makeToolDirectory(
      Object.fromEntries(
        ['pg_dump', 'psql', 'createdb', 'dropdb'].map((t) => [t, recordingWrapper(t, logs)]),
      ),
    );
    rmSync(logs, { recursive: true, force: true });
    mkdirSync(logs);
    const dbUrl = `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:5432/${db.name}`;
    const executor = createLocalExecutor({ dbUrl, logger, toolDirectory: tools });
    const directory = join(work, 'backups');
    const file = `${db.name}_20260111_103024.dump`;
    const seed = {
      format: 'bomnipotent-backup/1' as const,
      database: db.name,
      serverVersion: '15.20',
      schemaVersion: 1,
      appVersion: '0.1.0',
      startedAt: new Date().toISOString(),
      trigger: 'manual' as const,
      user: 'admin',
    };
    await dumpNamed(executor, { directory, file, seed });
    await executor.restore({
      directory,
      file,
      targetDatabase: `${db.name}_scratch_pw`,
      read: EXECUTOR_TRUST,
    });
    // A failing restore goes through createdb's refusal: its error must be clean too.
    const refused = await executor
      .restore({ directory, file, targetDatabase: `${db.name}_scratch_pw`, read: EXECUTOR_TRUST })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'EXECUTOR.TARGET_EXISTS' });
    const unreachable = createLocalExecutor({
      dbUrl: dbUrl.replace('127.0.0.1:5432', '127.0.0.1:1'),
      logger,
      toolDirectory: tools,
    });
    const failed = await dumpNamed(unreachable, {
      directory,
      file: `${db.name}_20260111_103025.dump`,
      seed,
    }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'EXECUTOR.DATABASE_UNREACHABLE' });

    const argv = readFileSync(join(logs, 'argv.log'), 'utf8');
    expect(argv).toContain('pg_dump --format=plain --no-password');
    // The verified dump is fed to psql on its stdin (`-f -`) from the one descriptor that was checked: psql is never
    // given a path it could open (and that could be swapped) itself.
    const psqlLines = argv.split('\n').filter((l) => l.startsWith('psql '));
    expect(psqlLines).toContain(
      `psql -X -q --no-password -v ON_ERROR_STOP=1 --single-transaction -f - -d ${db.name}_scratch_pw`,
    );
    for (const line of psqlLines) expect(line).not.toMatch(/ (-f|--file)(=| )(?!- )/);
    expect(argv).toContain(`createdb --no-password --template=template0 ${db.name}_scratch_pw`);
    const forms = [password, encodeURIComponent(password)];
    for (const form of forms) {
      expect(argv).not.toContain(form);
      expect(lines.join('\n')).not.toContain(form);
      expect(
        String((refused as Error).message) + String((refused as { suggestion?: string }).suggestion),
      ).not.toContain(form);
      expect((failed as Error).message).not.toContain(form);
    }
    // The tools got the password through a private passfile, never through PGPASSWORD.
    expect(
      readFileSync(join(logs, 'pgpassword.log'), 'utf8')
        .trim()
        .split('\n')
        .every((l) => l === 'unset'),
    ).toBe(true);
    expect(new Set(readFileSync(join(logs, 'passfile-mode.log'), 'utf8').trim().split('\n'))).toEqual(
      new Set(['600']),
    );
    expect(readFileSync(join(logs, 'passfile-copy'), 'utf8')).toBe(
      `*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`,
    );
    for (const path of readFileSync(join(logs, 'passfile-path.log'), 'utf8').trim().split('\n')) {
      expect(existsSync(path), `${path} should be removed`).toBe(false);
    }
    rmSync(tools, { recursive: true, force: true });
  });
});
