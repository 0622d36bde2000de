// The verified spool's room is checked before a byte is copied: a restore whose backup directory (a real 4 MiB tmpfs,
// mounting needs root) has less free space than the backup's size refuses with one line naming what the copy needs
// and what is free, and changes nothing (no target database, no spool left, the file system as it was). Where no tmpfs
// can be mounted (not root, or a container without CAP_SYS_ADMIN) it does not run.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import * as real from '../support/restore-real';
import { canMountTmpfs } from '../support/tmpfs';

const asRoot = canMountTmpfs();
let database: TestDatabase;
let root: string;
let directory: string;
let world: real.RealRestoreWorld;
let file: string;
let mounted = false;

beforeAll(async () => {
  if (!asRoot) return;
  database = await createTestDatabase('bspoolroom');
  root = await mkdtemp(join(tmpdir(), 'bomnipotent-spool-room-'));
  directory = join(root, 'tmpfs');
  execFileSync('mkdir', ['-p', directory]);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', directory], { stdio: 'ignore' });
  mounted = true;
  world = real.createRealContext({ url: database.url, directory });
  await real.migrateToLatest(world);
  file = (await real.makeBackup(world)).file;
  // A signed backup of about 1.5 MiB: comment lines before its end.
  await real.rewriteBackup(directory, file, (sql) =>
    real.beforeCompletionMarker(sql, `-- ${'.'.repeat(96)}\n`.repeat(15_000)),
  );
}, 120_000);

afterAll(async () => {
  if (!asRoot) return;
  await world?.close();
  await database?.drop();
  if (mounted) execFileSync('umount', [directory], { stdio: 'ignore' });
  await rm(root, { recursive: true, force: true });
}, 120_000);

describe('the verified spool needs room in the backup directory', () => {
  it.runIf(asRoot)(
    'less free than the backup: refused up front with the need and what is free; nothing changed',
    async () => {
      const size = (await stat(join(directory, file))).size;
      const info = await statfs(directory);
      // Fill the tmpfs until a little more than half the backup's size is free.
      const fill = info.bavail * info.bsize - Math.floor(size / 2) - 64 * 1024;
      await writeFile(join(directory, 'ballast'), Buffer.alloc(fill));
      const before = (await readdir(directory)).sort();
      const target = `${database.name}_spool`;
      const error = await world.executor
        .restore({
          directory,
          file,
          targetDatabase: target,
          read: { ...real.TEST_TRUST, allowUnsigned: false },
        })
        .then(
          () => null,
          (e: unknown) => e as Error,
        );
      expect(error).toBeInstanceOf(Error);
      const message = (error as Error).message;
      expect(message).toMatch(
        new RegExp(`needs .*\\(${size} bytes\\) in ${directory}, and only .* bytes\\) is free there`),
      );
      expect(message.split('\n')).toHaveLength(1);
      expect((await readdir(directory)).sort()).toEqual(before); // no spool left
      const { rows } = await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [target]);
      expect(rows).toEqual([]);
      await rm(join(directory, 'ballast'));
    },
    120_000,
  );
});
