// The same backup round trip through each executor of tests/support/executors.ts (in-process and sidecar process):
// both give the same answers, which is what lets the backup suites run against either.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../handlers/errors';
import { executorKinds, type ExecutorUnderTest } from '../support/executors';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { dumpNamed, EXECUTOR_TRUST } from '../support/backup-signer';

describe.each(executorKinds)('the $name executor', (kind) => {
  let db: TestDatabase;
  let directory: string;
  let under: ExecutorUnderTest;
  let serverVersion: string;

  beforeAll(async () => {
    db = await createTestDatabase(`kinds_${kind.name}`);
    await adminQuery(
      'CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, $$kept$$)',
      [],
      db.name,
    );
    const { rows } = await adminQuery<{ server_version: string }>('SHOW server_version');
    serverVersion = rows[0]!.server_version.split(' ')[0]!;
    directory = mkdtempSync(join(tmpdir(), `bomnipotent-kinds-${kind.name}-`));
    under = await kind.start({ dbUrl: db.url, directory });
  });

  afterAll(async () => {
    await under?.close();
    rmSync(directory, { recursive: true, force: true });
    await db?.drop();
  });

  it('dumps, lists, verifies, restores and removes', async () => {
    const { executor } = under;
    const file = `${db.name}_20260111_103024.dump`;
    const seed = {
      format: 'bomnipotent-backup/1' as const,
      database: db.name,
      serverVersion,
      schemaVersion: 1,
      appVersion: '0.1.0',
      startedAt: new Date().toISOString(),
      trigger: 'scheduled' as const,
      user: null,
    };
    const metadata = await dumpNamed(executor, { directory, file, seed });
    expect((await executor.list({ directory: directory, trust: EXECUTOR_TRUST })).map((e) => e.file)).toEqual(
      [file],
    );
    expect(await executor.verify(directory, file, EXECUTOR_TRUST)).toEqual({ ok: true, metadata });
    await executor.restore({ directory, file, targetDatabase: `${db.name}_restore_1`, read: EXECUTOR_TRUST });
    const { rows } = await adminQuery<{ body: string }>('SELECT body FROM notes', [], `${db.name}_restore_1`);
    expect(rows).toEqual([{ body: 'kept' }]);
    await executor.remove(directory, file);
    expect(await executor.list({ directory: directory, trust: EXECUTOR_TRUST })).toEqual([]);
  });

  it('answers the same for names that are not backups', async () => {
    const { executor } = under;
    expect(await executor.verify(directory, '../etc/passwd', EXECUTOR_TRUST)).toEqual({
      ok: false,
      reason: '"../etc/passwd" is not a valid backup file name.',
    });
    const error: unknown = await executor.remove(directory, '../etc/passwd').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isAppError(error) && [error.code, error.kind]).toEqual(['EXECUTOR.INVALID_NAME', 'invalid']);
  });
});
