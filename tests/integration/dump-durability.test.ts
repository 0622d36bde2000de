// The fsyncs of a dump, watched through the executor's durability seam around the real file system: the dump's
// bytes are synced under the temporary name before the rename, and the directory after it; then the same for the
// manifest. Without either, a power cut could leave a complete-looking name over missing bytes, or lose the name.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/observability/logger';
import { fileSystemDurability, type Durability } from '../../runtime/executor/durability';
import { createLocalExecutor } from '../../runtime/executor/local';
import { backupSeed } from '../support/backup-seed';
import { dumpNamed } from '../support/backup-signer';
import { manifestFileName } from '../../handlers/backup/naming';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';

let db: TestDatabase;
let root: string;

beforeAll(async () => {
  db = await createTestDatabase('bt_durable');
  await adminQuery(
    `CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g`,
    [],
    db.name,
  );
  root = await mkdtemp(join(tmpdir(), 'bomnipotent-durable-'));
});
afterAll(async () => {
  await db.drop();
  await rm(root, { recursive: true, force: true });
});

interface SyncEvent {
  what: 'file' | 'directory';
  name: string;
  finalExists: boolean;
  sizeBytes: number | null;
}

/** The real fsyncs, recording each with what the directory looked like at that moment. */
function watchingDurability(finalPath: string, events: SyncEvent[], failFile?: Error): Durability {
  // A synced file "exists" when its final name does: the dump's own name, or the manifest's for the manifest.
  const finalOf = (path: string) =>
    basename(path).endsWith(`${basename(manifestFileName(finalPath))}.partial`)
      ? manifestFileName(finalPath)
      : finalPath;
  return {
    async syncFile(path) {
      events.push({
        what: 'file',
        name: basename(path),
        finalExists: existsSync(finalOf(path)),
        sizeBytes: statSync(path).size,
      });
      if (failFile) throw failFile;
      await fileSystemDurability.syncFile(path);
    },
    async syncDirectory(directory) {
      events.push({
        what: 'directory',
        name: directory,
        finalExists: existsSync(finalPath),
        sizeBytes: null,
      });
      await fileSystemDurability.syncDirectory(directory);
    },
  };
}

describe('dump durability', () => {
  it('syncs the dump and then its manifest (the commit marker) under their temporary names before each rename, the directory after each', async () => {
    const directory = join(root, 'ok');
    const file = `${db.name}_20260111_103024.dump`;
    const events: SyncEvent[] = [];
    const executor = createLocalExecutor({
      dbUrl: db.url,
      logger: silentLogger(),
      durability: watchingDurability(join(directory, file), events),
    });
    const metadata = await dumpNamed(executor, { directory, file, seed: backupSeed(db.name) });
    const manifest = manifestFileName(file);
    expect(events).toEqual([
      { what: 'file', name: `.${file}.partial`, finalExists: false, sizeBytes: metadata.sizeBytes },
      { what: 'directory', name: directory, finalExists: true, sizeBytes: null },
      // The manifest is the commit marker: synced whole under its temporary name before the rename, then the
      // directory, so that a power cut never leaves a manifest name over missing bytes.
      {
        what: 'file',
        name: `.${manifest}.partial`,
        finalExists: false,
        sizeBytes: statSync(join(directory, manifest)).size,
      },
      { what: 'directory', name: directory, finalExists: true, sizeBytes: null },
    ]);
  });

  it('a failing fsync of the dump (an I/O error) fails the backup and leaves nothing under any name', async () => {
    const directory = join(root, 'eio');
    const file = `${db.name}_20260111_103025.dump`;
    const executor = createLocalExecutor({
      dbUrl: db.url,
      logger: silentLogger(),
      durability: watchingDurability(
        join(directory, file),
        [],
        Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }),
      ),
    });
    await expect(dumpNamed(executor, { directory, file, seed: backupSeed(db.name) })).rejects.toMatchObject({
      code: 'EXECUTOR.WRITE_FAILED',
      message: `Writing into ${directory} failed (EIO).`,
    });
    expect(readdirSync(directory)).toEqual([]);
  });
});
