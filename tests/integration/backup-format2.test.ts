// Backup format 2 through the real executor, pg_dump, zstd and psql: signed manifest as the commit marker, trust
// states from manifests only, and a restore that reads the verified bytes from one descriptor.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFileName } from '../../handlers/backup/naming';
import { readTrustedManifest } from '../../handlers/backup/manifest';
import { assessChain, describeChain } from '../../handlers/backup/trust';
import { createLocalExecutor } from '../../runtime/executor/local';
import { silentLogger } from '../../runtime/observability/logger';
import { backupSeed } from '../support/backup-seed';
import { testSigner, trustOf } from '../support/backup-signer';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';

let db: TestDatabase;
let root: string;
const signer = testSigner();

beforeAll(async () => {
  db = await createTestDatabase('bt_fmt2');
  await adminQuery(`CREATE TABLE docs (id int PRIMARY KEY, body jsonb NOT NULL)`, [], db.name);
  await adminQuery(
    `INSERT INTO docs SELECT g, jsonb_build_object('name', 'pkg-' || g, 'version', '1.' || g) FROM generate_series(1, 2000) g`,
    [],
    db.name,
  );
  root = mkdtempSync(join(tmpdir(), 'bomnipotent-fmt2-'));
});

afterAll(async () => {
  await db.drop();
  rmSync(root, { recursive: true, force: true });
});

describe.each(['zstd', 'gzip', 'none'] as const)('format 2 with compression %s', (compression) => {
  it('writes data file and signed manifest, lists it as trusted, verifies and restores it', async () => {
    const directory = join(root, compression);
    const executor = createLocalExecutor({ dbUrl: db.url, logger: silentLogger() });
    const entry = await executor.dump({
      directory,
      seed: backupSeed(db.name),
      options: { compression, encryptionRecipients: [] },
      minSequence: 1,
      signer,
    });
    const suffix = { zstd: '.dump.zst', gzip: '.dump.gz', none: '.dump' }[compression];
    expect(entry.file.endsWith(suffix)).toBe(true);
    expect(readdirSync(directory).sort()).toEqual([entry.file, manifestFileName(entry.file)]);
    const bytes = readFileSync(join(directory, entry.file));
    const manifest = readTrustedManifest(
      readFileSync(join(directory, manifestFileName(entry.file))),
      [signer.publicKey],
      entry.file,
    );
    expect(manifest.ok).toBe(true);
    if (!manifest.ok) return;
    expect(manifest.manifest).toMatchObject({
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      compression,
      restricted: true,
      sequence: 1,
      previousManifestSha256: null,
    });

    const listed = await executor.list({ directory, trust: trustOf(signer) });
    expect(listed.map((e) => [e.file, e.state])).toEqual([[entry.file, 'trusted']]);
    await expect(executor.verify(directory, entry.file, trustOf(signer))).resolves.toMatchObject({
      ok: true,
    });

    const target = `${db.name}_r_${compression}`;
    await executor.restore({ directory, file: entry.file, targetDatabase: target, read: trustOf(signer) });
    const restored = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM docs`, [], target);
    expect(restored.rows[0]?.n).toBe('2000');
    await adminQuery(`DROP DATABASE "${target}"`);
  });
});

describe('the chain of real backups', () => {
  it('each backup names the one before it, so the chain joins; one planted from another chain is named', async () => {
    const directory = join(root, 'chain');
    const executor = createLocalExecutor({ dbUrl: db.url, logger: silentLogger() });
    const dump = (seconds: number, minSequence: number, by = signer) =>
      executor.dump({
        directory,
        seed: {
          ...backupSeed(db.name),
          startedAt: new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString(),
        },
        options: { compression: 'zstd', encryptionRecipients: [] },
        minSequence,
        signer: by,
      });
    await dump(1, 1);
    await dump(2, 1);
    const trust = trustOf(signer);
    const whole = assessChain(await executor.list({ directory, trust }), db.name, 2);
    expect([whole.presentOldest, whole.presentNewest, whole.brokenLinks]).toEqual([1, 2, []]);

    // Another server whose key this one trusts writes the same database's backups into the directory: its
    // first backup starts its own chain at sequence 1, its second (sequence 3 here) follows that one, not ours.
    const other = testSigner();
    const otherDirectory = join(root, 'chain-other');
    const foreign = createLocalExecutor({ dbUrl: db.url, logger: silentLogger() });
    await foreign.dump({
      directory: otherDirectory,
      seed: backupSeed(db.name),
      options: { compression: 'zstd', encryptionRecipients: [] },
      minSequence: 2,
      signer: other,
    });
    const planted = await foreign.dump({
      directory: otherDirectory,
      seed: { ...backupSeed(db.name), startedAt: new Date(Date.UTC(2026, 0, 1, 10, 0, 3)).toISOString() },
      options: { compression: 'zstd', encryptionRecipients: [] },
      minSequence: 3,
      signer: other,
    });
    expect(planted.manifest?.sequence).toBe(3);
    for (const name of [planted.file, manifestFileName(planted.file)])
      copyFileSync(join(otherDirectory, name), join(directory, name));
    const mixed = assessChain(await executor.list({ directory, trust: trustOf(signer, other) }), db.name, 3);
    expect(mixed.brokenLinks).toEqual([3]);
    expect(describeChain(mixed)).toMatch(/sequence 3 do not follow/);
  });
});
