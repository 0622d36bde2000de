import { execFileSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupMetadataSeed } from '../../handlers/backup/model';
import type { Logger } from '../../handlers/ports/logger';
import { createLocalExecutor } from '../../runtime/executor/local';
import {
  makeToolDirectory,
  pgDumpKilledHalfway,
  pgDumpThatHangs,
  pgDumpWithoutMarker,
} from '../support/fake-tools';
import { adminQuery, createTestDatabase, urlFor, type TestDatabase } from '../support/pg';
import { backupSeed } from '../support/backup-seed';
import { dumpNamed, EXECUTOR_TRUST } from '../support/backup-signer';

const logger: Logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {} };

function seedFor(database: string): BackupMetadataSeed {
  return backupSeed(database, { trigger: 'scheduled', user: null });
}

let db: TestDatabase;
let root: string;
const file = () => `${db.name}_20260111_103024.dump`;

beforeAll(async () => {
  db = await createTestDatabase('bt_exfault');
  // About 1.5 MB of dump: bigger than the small file system below.
  await adminQuery(
    `CREATE TABLE filler AS SELECT g AS id, repeat(md5(g::text), 8) AS body FROM generate_series(1, 5000) g`,
    [],
    db.name,
  );
  root = mkdtempSync(join(tmpdir(), 'bomnipotent-exfault-'));
});

afterAll(async () => {
  await db.drop();
  rmSync(root, { recursive: true, force: true });
});

function freshDirectory(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('local executor: dump failures leave nothing behind', () => {
  it('pg_dump killed halfway -> EXECUTOR.DUMP_KILLED, no partial, no metadata', async () => {
    const tools = makeToolDirectory({ pg_dump: pgDumpKilledHalfway() });
    const dir = freshDirectory('killed');
    const executor = createLocalExecutor({ dbUrl: db.url, logger, toolDirectory: tools });
    await expect(
      dumpNamed(executor, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DUMP_KILLED',
      kind: 'failed',
      message: expect.stringContaining('SIGKILL'),
    });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(tools, { recursive: true, force: true });
  });

  it('pg_dump that exits 0 without the completion marker -> EXECUTOR.DUMP_INCOMPLETE', async () => {
    const tools = makeToolDirectory({ pg_dump: pgDumpWithoutMarker() });
    const dir = freshDirectory('unmarked');
    const executor = createLocalExecutor({ dbUrl: db.url, logger, toolDirectory: tools });
    await expect(
      dumpNamed(executor, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DUMP_INCOMPLETE',
      // the dump is \restrict-guarded and closed: only the missing marker can be the reason
      message: expect.stringContaining('completion marker'),
    });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(tools, { recursive: true, force: true });
  });

  it('a dump cancelled through its signal -> EXECUTOR.CANCELLED, pg_dump stopped, nothing left', async () => {
    const tools = makeToolDirectory({ pg_dump: pgDumpThatHangs() });
    const dir = freshDirectory('cancelled');
    const executor = createLocalExecutor({ dbUrl: db.url, logger, toolDirectory: tools });
    const controller = new AbortController();
    const running = dumpNamed(executor, {
      directory: dir,
      file: file(),
      seed: seedFor(db.name),
      signal: controller.signal,
    });
    // Wait until the partial file exists, so that the cancellation really interrupts a running dump.
    while (readdirSync(dir).length === 0) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'EXECUTOR.CANCELLED', kind: 'unavailable' });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(tools, { recursive: true, force: true });
  });

  it('pg_dump exits non-zero (no such database) -> EXECUTOR.DUMP_FAILED with its error line', async () => {
    const dir = freshDirectory('failed');
    const missing = `${db.name}_missing`;
    const executor = createLocalExecutor({ dbUrl: urlFor(missing), logger });
    const error = await dumpNamed(executor, {
      directory: dir,
      file: `${missing}_20260111_103024.dump`,
      seed: seedFor(missing),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EXECUTOR.DUMP_FAILED', kind: 'failed' });
    expect((error as Error).message).toMatch(/^pg_dump exited with code 1: .*does not exist/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('no server at the port -> EXECUTOR.DATABASE_UNREACHABLE', async () => {
    const dir = freshDirectory('unreachable');
    const url = new URL(db.url);
    url.host = '127.0.0.1:1';
    const executor = createLocalExecutor({ dbUrl: url.toString(), logger });
    await expect(
      dumpNamed(executor, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DATABASE_UNREACHABLE',
      kind: 'unavailable',
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('pg_dump missing -> EXECUTOR.TOOL_NOT_FOUND with the install hint', async () => {
    const empty = makeToolDirectory({});
    const dir = freshDirectory('missing-tool');
    const inDirectory = createLocalExecutor({ dbUrl: db.url, logger, toolDirectory: empty });
    await expect(
      dumpNamed(inDirectory, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.TOOL_NOT_FOUND',
      kind: 'misconfigured',
      message: `pg_dump was not found in ${empty} (the executor's tool directory).`,
      suggestion: expect.stringContaining('postgresql-client-15'),
    });
    const onPath = createLocalExecutor({ dbUrl: db.url, logger, env: { PATH: empty }, versionedRoot: empty });
    await expect(
      dumpNamed(onPath, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.TOOL_NOT_FOUND',
      message: 'pg_dump was not found on PATH.',
    });
    expect(readdirSync(dir)).toEqual([]);
    rmSync(empty, { recursive: true, force: true });
  });

  it('directory below a regular file -> EXECUTOR.DIRECTORY_NOT_WRITABLE naming the directory', async () => {
    const blocker = join(root, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const dir = join(blocker, 'backups');
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    await expect(
      dumpNamed(executor, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
      kind: 'misconfigured',
      message: `The backup directory ${dir} cannot be written: a part of the path is a file, not a directory.`,
    });
    expect(existsSync(dir)).toBe(false);
  });

  // A real full file system when we may mount one (root here); otherwise ENOSPC injected into the file writes.
  const asRoot = process.getuid?.() === 0;
  it(`disk full (${asRoot ? 'a real 256 KiB tmpfs' : 'injected ENOSPC: not root, no tmpfs'}) -> EXECUTOR.DISK_FULL`, async () => {
    const mountPoint = join(root, 'tmpfs');
    mkdirSync(mountPoint, { recursive: true });
    let mounted = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint], { stdio: 'ignore' });
      mounted = true;
    } catch {
      expect(asRoot, 'mount -t tmpfs failed although we are root').toBe(false);
    }
    const restore = mounted ? () => {} : await injectEnospcAfter(64 * 1024);
    try {
      const executor = createLocalExecutor({ dbUrl: db.url, logger });
      const error = await dumpNamed(executor, {
        directory: mountPoint,
        file: file(),
        seed: seedFor(db.name),
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'EXECUTOR.DISK_FULL', kind: 'failed' });
      const figures = new RegExp(
        `^No space left in ${mountPoint}: the unfinished dump had (\\d+) bytes on disk when the file system filled up; \\d+ bytes are free`,
      ).exec((error as Error).message);
      expect(figures, (error as Error).message).not.toBeNull();
      // The figure is what reached the disk, so it can never exceed the file system (it once counted pg_dump's output).
      if (mounted) expect(Number(figures![1])).toBeLessThanOrEqual(256 * 1024);
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      restore();
      if (mounted) execFileSync('umount', [mountPoint]);
    }
  });
});

describe('local executor: a directory that cannot be written is named as such, for every operation', () => {
  it('a directory that is a file -> EXECUTOR.DIRECTORY_NOT_WRITABLE from list, free space and dump (never a 500)', async () => {
    const dir = join(root, 'plain-file');
    writeFileSync(dir, 'not a directory');
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const expected = {
      code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
      message: `The backup directory ${dir} cannot be written: a part of the path is a file, not a directory.`,
    };
    await expect(executor.list({ directory: dir, trust: EXECUTOR_TRUST })).rejects.toMatchObject(expected);
    await expect(
      executor.list({ directory: join(dir, 'below'), trust: EXECUTOR_TRUST }),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
    });
    await expect(executor.freeBytes(dir)).rejects.toMatchObject(expected);
    await expect(
      dumpNamed(executor, { directory: dir, file: file(), seed: seedFor(db.name) }),
    ).rejects.toMatchObject(expected);
  });

  it.runIf(process.getuid?.() === 0)(
    'a small read-only file system -> "read-only", not "not enough free space"',
    async () => {
      const mountPoint = join(root, 'readonly');
      mkdirSync(mountPoint, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', mountPoint], { stdio: 'ignore' });
      try {
        const executor = createLocalExecutor({ dbUrl: db.url, logger });
        await expect(executor.freeBytes(mountPoint)).rejects.toMatchObject({
          code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
          message: `The backup directory ${mountPoint} cannot be written: the file system is read-only.`,
        });
        await expect(executor.freeBytes(join(mountPoint, 'backups'))).rejects.toMatchObject({
          code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
        });
      } finally {
        execFileSync('umount', [mountPoint]);
      }
    },
  );
});

/** Makes every FileHandle write fail with ENOSPC once `limit` bytes went through; returns the undo. */
async function injectEnospcAfter(limit: number): Promise<() => void> {
  const probe = await open('/dev/null', 'r');
  const proto = Object.getPrototypeOf(probe) as Record<
    'write' | 'writev',
    (...args: unknown[]) => Promise<unknown>
  >;
  await probe.close();
  const original = { write: proto.write, writev: proto.writev };
  let written = 0;
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  proto.write = function (this: unknown, ...args: unknown[]) {
    written += (args[0] as Buffer).length;
    return written > limit ? Promise.reject(enospc()) : original.write.apply(this, args);
  };
  proto.writev = function (this: unknown, ...args: unknown[]) {
    written += (args[0] as Buffer[]).reduce((n, b) => n + b.length, 0);
    return written > limit ? Promise.reject(enospc()) : original.writev.apply(this, args);
  };
  return () => Object.assign(proto, original);
}
