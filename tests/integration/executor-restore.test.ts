import {
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupMetadataSeed } from '../../handlers/backup/model';
import type { Logger } from '../../handlers/ports/logger';
import { createLocalExecutor } from '../../runtime/executor/local';
import { makeToolDirectory, REAL_TOOL_DIRECTORY } from '../support/fake-tools';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { dumpNamed, EXECUTOR_SIGNER, EXECUTOR_TRUST } from '../support/backup-signer';
import { backupSeed } from '../support/backup-seed';
import { beforeCompletionMarker, rewriteBackup } from '../support/restore-real';

const logger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} };

let db: TestDatabase;
let directory: string;
let file: string;
let seed: BackupMetadataSeed;

async function databaseExists(name: string): Promise<boolean> {
  const { rows } = await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
  return rows.length === 1;
}

beforeAll(async () => {
  db = await createTestDatabase('bt_exrestore');
  await adminQuery(`CREATE TABLE items (id int PRIMARY KEY)`, [], db.name);
  await adminQuery(`INSERT INTO items SELECT generate_series(1, 100)`, [], db.name);
  directory = mkdtempSync(join(tmpdir(), 'bomnipotent-exrestore-'));
  file = `${db.name}_20260111_103024.dump`;
  const executor = createLocalExecutor({ dbUrl: db.url, logger });
  seed = backupSeed(db.name, { user: null });
  await dumpNamed(executor, { directory, file, seed });
});

afterAll(async () => {
  await db.drop();
  rmSync(directory, { recursive: true, force: true });
});

describe('local executor: restore failures', () => {
  it('a dump that fails halfway -> EXECUTOR.RESTORE_FAILED with the psql error, and no target database', async () => {
    // A verified dump whose SQL fails after the table was filled: psql must stop and roll everything back.
    // Signed again after the edit, so that only psql can find the fault.
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const broken = `${db.name}_20260111_103025.dump`;
    await dumpNamed(executor, { directory, file: broken, seed });
    await rewriteBackup(
      directory,
      broken,
      (sql) => beforeCompletionMarker(sql, 'INSERT INTO no_such_table VALUES (1);\n'),
      EXECUTOR_SIGNER,
    );
    expect((await executor.verify(directory, broken, EXECUTOR_TRUST)).ok).toBe(true);

    const target = `${db.name}_scratch_broken`;
    const error = await executor
      .restore({ directory, file: broken, targetDatabase: target, read: EXECUTOR_TRUST })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'EXECUTOR.RESTORE_FAILED',
      kind: 'failed',
      suggestion: expect.stringContaining('was dropped'),
    });
    expect((error as Error).message).toMatch(
      /^psql failed with exit code 3: line \d+: ERROR: +relation "no_such_table" does not exist/,
    );
    expect(await databaseExists(target)).toBe(false);
  });

  it('refuses an existing target and leaves it alone', async () => {
    const target = `${db.name}_scratch_taken`;
    await adminQuery(`CREATE DATABASE "${target}"`);
    await adminQuery(`CREATE TABLE precious (x int)`, [], target);
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    await expect(
      executor.restore({ directory, file, targetDatabase: target, read: EXECUTOR_TRUST }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.TARGET_EXISTS',
      kind: 'conflict',
    });
    const { rows } = await adminQuery(`SELECT to_regclass('precious') AS t`, [], target);
    expect(rows[0]).toEqual({ t: 'precious' });
  });

  it('refuses names that are not a backup or not a plain database name, and missing files', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    await expect(
      executor.restore({
        directory,
        file: '../etc/passwd',
        targetDatabase: `${db.name}_scratch_x`,
        read: EXECUTOR_TRUST,
      }),
    ).rejects.toMatchObject({ code: 'EXECUTOR.INVALID_NAME' });
    for (const target of ['-x', 'host=evil dbname=x', 'a b']) {
      await expect(
        executor.restore({ directory, file, targetDatabase: target, read: EXECUTOR_TRUST }),
      ).rejects.toMatchObject({
        code: 'EXECUTOR.INVALID_NAME',
      });
    }
    await expect(
      executor.restore({
        directory,
        file: `${db.name}_20990101_000000.dump`,
        targetDatabase: `${db.name}_scratch_x`,
        read: EXECUTOR_TRUST,
      }),
    ).rejects.toMatchObject({ code: 'EXECUTOR.BACKUP_NOT_FOUND', kind: 'not_found' });
    expect(await databaseExists(`${db.name}_scratch_x`)).toBe(false);
  });

  it('a cancelled restore -> EXECUTOR.CANCELLED and no target database', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const target = `${db.name}_scratch_cancel`;
    await expect(
      executor.restore({
        directory,
        file,
        targetDatabase: target,
        read: EXECUTOR_TRUST,
        signal: AbortSignal.abort(),
      }),
    ).rejects.toMatchObject({ code: 'EXECUTOR.CANCELLED' });
    expect(await databaseExists(target)).toBe(false);
  });

  it('a restore cancelled while psql runs -> EXECUTOR.CANCELLED and the created target is dropped again', async () => {
    const tools = makeToolDirectory({
      createdb: `exec '${REAL_TOOL_DIRECTORY}/createdb' "$@"`,
      dropdb: `exec '${REAL_TOOL_DIRECTORY}/dropdb' "$@"`,
      // The roles query and the load role's SQL run for real; the load itself (one transaction) hangs.
      psql: `case "$*" in *--single-transaction*) exec sleep 30;; *) exec '${REAL_TOOL_DIRECTORY}/psql' "$@";; esac`,
    });
    const executor = createLocalExecutor({ dbUrl: db.url, logger, toolDirectory: tools });
    const target = `${db.name}_scratch_midway`;
    const controller = new AbortController();
    const running = executor.restore({
      directory,
      file,
      targetDatabase: target,
      read: EXECUTOR_TRUST,
      signal: controller.signal,
    });
    // Stops waiting when the restore ends on its own (e.g. fails before createdb): then the assertion names it.
    let settled = false;
    running.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      while (!settled && !(await databaseExists(target))) await new Promise((r) => setTimeout(r, 50));
      controller.abort();
      await expect(running).rejects.toMatchObject({ code: 'EXECUTOR.CANCELLED' });
      expect(await databaseExists(target)).toBe(false);
    } finally {
      rmSync(tools, { recursive: true, force: true });
    }
  });
});

describe('local executor: the spool proven while the target is prepared', () => {
  /** The signed dump and its manifest in a directory of their own, one byte changed in its middle: same size. */
  function damagedCopy(): string {
    const copy = mkdtempSync(join(tmpdir(), 'bomnipotent-exrestore-damaged-'));
    for (const name of [file, `${file}.manifest.json`]) copyFileSync(join(directory, name), join(copy, name));
    const path = join(copy, file);
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, Buffer.from('#'), 0, 1, Math.floor(statSync(path).size / 2));
    } finally {
      closeSync(fd);
    }
    return copy;
  }

  it('a damaged backup: refused, psql never loads, the database created meanwhile is dropped', async () => {
    const damaged = damagedCopy();
    const log = join(damaged, 'psql-calls.log');
    const tools = makeToolDirectory({
      createdb: `exec '${REAL_TOOL_DIRECTORY}/createdb' "$@"`,
      dropdb: `exec '${REAL_TOOL_DIRECTORY}/dropdb' "$@"`,
      psql: `echo "$*" >> '${log}'; exec '${REAL_TOOL_DIRECTORY}/psql' "$@"`,
    });
    const target = `${db.name}_scratch_damaged`;
    try {
      const runs: string[] = [];
      const recording: Logger = { ...logger, debug: (message) => void runs.push(message) };
      const executor = createLocalExecutor({ dbUrl: db.url, logger: recording, toolDirectory: tools });
      await expect(
        executor.restore({ directory: damaged, file, targetDatabase: target, read: EXECUTOR_TRUST }),
      ).rejects.toMatchObject({
        code: 'BACKUP.UNTRUSTED',
        message: expect.stringContaining('checksum mismatch'),
      });
      expect(await databaseExists(target)).toBe(false);
      // The roles query (and the load's login) ran beside the proof; the load itself never started.
      const calls = readFileSync(log, 'utf8');
      expect(calls).toContain('json_build_object');
      expect(calls).not.toContain('--single-transaction');
      // A load started and then stopped (killed as soon as its feed failed) would show as a failed psql run.
      expect(runs.filter((line) => line.startsWith('psql')).length).toBeGreaterThan(0);
      expect(runs.filter((line) => /^psql failed/.test(line))).toEqual([]);
    } finally {
      rmSync(tools, { recursive: true, force: true });
      rmSync(damaged, { recursive: true, force: true });
    }
  });

  it('a damaged backup and an existing target: the refusal is what is reported, the target untouched', async () => {
    const damaged = damagedCopy();
    const target = `${db.name}_scratch_both`;
    await adminQuery(`CREATE DATABASE "${target}"`);
    await adminQuery(`CREATE TABLE precious (x int)`, [], target);
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    try {
      await expect(
        executor.restore({ directory: damaged, file, targetDatabase: target, read: EXECUTOR_TRUST }),
      ).rejects.toMatchObject({ code: 'BACKUP.UNTRUSTED' });
    } finally {
      rmSync(damaged, { recursive: true, force: true });
    }
    const { rows } = await adminQuery(`SELECT to_regclass('precious') AS t`, [], target);
    expect(rows[0]).toEqual({ t: 'precious' });
  });
});
