// A restore that fails at its last statement commits nothing, even when the half-built target cannot be dropped
// afterwards: psql runs the whole dump as one transaction that stops at the first error. Real psql and createdb;
// only dropdb is a fake that fails, the one fault the real tool will not show on demand.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/observability/logger';
import { createLocalExecutor } from '../../runtime/executor/local';
import { backupSeed } from '../support/backup-seed';
import { makeToolDirectory, REAL_TOOL_DIRECTORY } from '../support/fake-tools';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { dumpNamed, EXECUTOR_SIGNER, trustOf } from '../support/backup-signer';
import { beforeCompletionMarker, rewriteBackup, TEST_SIGNER } from '../support/restore-real';

let db: TestDatabase;
let directory: string;
let tools: string;

beforeAll(async () => {
  db = await createTestDatabase('bt_atomic');
  await adminQuery(
    `CREATE TABLE docs (id int PRIMARY KEY, title text); INSERT INTO docs SELECT g, 'doc ' || g FROM generate_series(1, 500) g;
     CREATE SEQUENCE counter; CREATE VIEW titles AS SELECT title FROM docs`,
    [],
    db.name,
  );
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-atomic-'));
  tools = makeToolDirectory({
    pg_dump: `exec '${REAL_TOOL_DIRECTORY}/pg_dump' "$@"`,
    psql: `exec '${REAL_TOOL_DIRECTORY}/psql' "$@"`,
    createdb: `exec '${REAL_TOOL_DIRECTORY}/createdb' "$@"`,
    dropdb: `echo 'dropdb: error: database removal failed: connection lost' >&2; exit 1`,
  });
});
afterAll(async () => {
  await db.drop();
  await rm(directory, { recursive: true, force: true });
  await rm(tools, { recursive: true, force: true });
});

describe('restore atomicity', () => {
  it('psql failing at the end of the dump commits nothing, with the target left undroppable', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger: silentLogger(), toolDirectory: tools });
    const file = `${db.name}_20260111_103024.dump`;
    await dumpNamed(executor, { directory, file, seed: backupSeed(db.name) });
    // After every table, row and sequence of the dump: the last statement fails.
    await rewriteBackup(directory, file, (sql) => beforeCompletionMarker(sql, 'SELECT 1/0;'));
    const target = `${db.name}_target`;

    const error = await executor
      .restore({
        directory,
        file,
        targetDatabase: target,
        serverMajor: 15,
        read: trustOf(TEST_SIGNER, EXECUTOR_SIGNER),
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXECUTOR.RESTORE_FAILED' });
    expect((error as Error).message).toMatch(/division by zero/);
    expect((error as { suggestion?: string }).suggestion).toContain(
      `could not be dropped: drop it by hand (dropdb --force ${target})`,
    );

    // The target is still there (the drop failed), and empty: not one table, sequence, view or row was committed.
    const { rows } = await adminQuery<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY 1`,
      [],
      target,
    );
    expect(rows).toEqual([]);
  });
});
