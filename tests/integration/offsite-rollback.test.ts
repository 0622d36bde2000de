// No silent rollback from the store (issue 24 item 5): a fresh server restoring "the latest" from the off-site store
// refuses when the newest backup there is damaged (its object of another size, its manifest gone, its signature
// broken), as the directory path does, instead of restoring the one before it; and `--expect-newest` lets the admin
// state which backup the latest must be, which also catches the newest deleted outright. The damage is done for
// real to the objects in a real S3 protocol server (s3rver).
import { readdir } from 'node:fs/promises';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import type { BackupMetadata } from '../../handlers/backup/model';
import { offsiteSettings, testStore } from '../support/offsite-fixture';
import { backupOf, freshBucket, offsiteWorld, s3Suite, type OffsiteWorld } from '../support/offsite-world';
import { adminQuery } from '../support/pg';
import { testSigner } from '../support/backup-signer';
import { TEST_SIGNER } from '../support/restore-real';

const suite = s3Suite();
const cleanups = suite.cleanups;
const USER = 'admin@example.com';

interface Lost {
  bucket: string;
  a: OffsiteWorld;
  older: BackupMetadata;
  newest: BackupMetadata;
  /**
   * A is lost (its database dropped and made anew, empty): server B, on that database, an empty directory and a key
   * of its own, trusting A's public key.
   */
  recover(): Promise<OffsiteWorld>;
  /** Reads, writes and deletes the objects of the store behind the server's back. */
  object: {
    get(name: string): Promise<Buffer>;
    put(name: string, body: Buffer | string): Promise<void>;
    remove(name: string): Promise<void>;
  };
}

/** Server A backs up twice into its bucket (a table says the data is A's); server B is set up to recover it. */
async function lostServer(): Promise<Lost> {
  const bucket = await freshBucket(suite.server, 'rollback');
  const settings = offsiteSettings(suite.server.endpoint, bucket);
  const a = await offsiteWorld(cleanups, settings);
  await adminQuery(`CREATE TABLE recovery_probe (note text)`, [], a.database.name);
  await adminQuery(`INSERT INTO recovery_probe VALUES ('older')`, [], a.database.name);
  const older = (await backupOf(a)).metadata;
  await adminQuery(`UPDATE recovery_probe SET note = 'newest'`, [], a.database.name);
  const newest = (await backupOf(a)).metadata;
  const recover = async () => {
    await adminQuery(`DROP DATABASE "${a.database.name}" WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE "${a.database.name}"`);
    return offsiteWorld(cleanups, settings, {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey],
      database: a.database,
    });
  };
  const { client } = testStore(settings);
  const Key = (name: string) => `${settings.prefix}${name}`;
  const object = {
    async get(name: string) {
      const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: Key(name) }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    },
    async put(name: string, Body: Buffer | string) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: Key(name), Body }));
    },
    async remove(name: string) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: Key(name) }));
    },
  };
  return { bucket, a, older, newest, recover, object };
}

/** B restored nothing: its directory holds only the audit record, its database none of A's tables. */
async function expectNothingRestored(b: OffsiteWorld): Promise<void> {
  expect(await readdir(b.directory)).toEqual(['audit.log.jsonl']);
  const tables = await adminQuery(
    `SELECT 1 FROM information_schema.tables WHERE table_name = 'recovery_probe'`,
    [],
    b.database.name,
  );
  expect(tables.rows).toEqual([]);
}

const manifestOf = (file: string) => `${file}.manifest.json`;

describe('the newest backup in the store is damaged: the restore of "the latest" refuses', () => {
  const damages: [string, (lost: Lost) => Promise<void>, RegExp][] = [
    [
      'its data object has another size',
      async ({ object, newest }) => {
        const bytes = await object.get(newest.file);
        await object.put(newest.file, Buffer.concat([bytes, Buffer.from('appended')]));
      },
      /its object has \d+ bytes but its signed manifest says \d+/,
    ],
    [
      'its manifest is gone',
      ({ object, newest }) => object.remove(manifestOf(newest.file)),
      /it has no manifest in the store/,
    ],
    [
      'its manifest was altered after signing',
      async ({ object, newest }) => {
        const signed = JSON.parse((await object.get(manifestOf(newest.file))).toString('utf8')) as {
          manifest: { durationMs: number };
        };
        signed.manifest.durationMs += 1;
        await object.put(manifestOf(newest.file), JSON.stringify(signed, null, 2) + '\n');
      },
      /the signature does not match the manifest/,
    ],
    [
      'its data object is gone',
      ({ object, newest }) => object.remove(newest.file),
      /its data object is missing/,
    ],
  ];

  it.each(damages)('%s', async (_name, damage, reason) => {
    const lost = await lostServer();
    await damage(lost);
    const { newest, older, bucket } = lost;
    const b = await lost.recover();
    for (const dryRun of [true, false]) {
      const refused = restoreBackup({ user: USER, dryRun }, b.world.ctx);
      await expect(refused).rejects.toMatchObject({
        code: 'BACKUP.VERIFICATION_FAILED',
        message: expect.stringMatching(reason),
      });
      await expect(refused).rejects.toThrow(
        `The newest backup of database '${lost.a.database.name}' in s3://${bucket}/bomnipotent/, '${newest.file}', fails verification`,
      );
      await expect(refused).rejects.toThrow(`the newest that checks out is '${older.file}'`);
    }
    await expectNothingRestored(b);
    // Named on purpose, the older one restores.
    await restoreBackup({ user: USER, file: older.file }, b.world.ctx);
    const rows = await adminQuery('SELECT note FROM recovery_probe', [], b.database.name);
    expect(rows.rows).toEqual([{ note: 'older' }]);
  });

  it('a damaged store copy whose trusted twin is in the directory does not stop the restore', async () => {
    const { a, object, newest } = await lostServer();
    await object.remove(manifestOf(newest.file));
    const result = await restoreBackup({ user: USER, dryRun: true }, a.world.ctx);
    expect(result.path).toContain(newest.file);
  });
});

describe('--expect-newest', () => {
  it('refuses when the newest backup of the store was deleted outright, by name or by sequence', async () => {
    const { object, newest, older, bucket, recover } = await lostServer();
    const b = await recover();
    await object.remove(manifestOf(newest.file));
    await object.remove(newest.file);
    for (const expected of [newest.file, String(newest.sequence)]) {
      const refused = restoreBackup({ user: USER, expectNewest: expected }, b.world.ctx);
      await expect(refused).rejects.toMatchObject({ code: 'BACKUP.NOT_EXPECTED_NEWEST' });
      await expect(refused).rejects.toThrow(
        `The newest trusted backup of database '${b.database.name}' in s3://${bucket}/bomnipotent/ is ` +
          `'${older.file}' (sequence ${older.sequence}), not the expected`,
      );
    }
    await expectNothingRestored(b);
    const restored = await restoreBackup({ user: USER, expectNewest: older.file }, b.world.ctx);
    expect(restored.metadata.sha256).toBe(older.sha256);
  });

  it('checks the directory too, and refuses a value that names no backup or comes with --file', async () => {
    const { a, older, newest } = await lostServer();
    await expect(
      restoreBackup({ user: USER, dryRun: true, expectNewest: String(older.sequence) }, a.world.ctx),
    ).rejects.toMatchObject({
      code: 'BACKUP.NOT_EXPECTED_NEWEST',
      message: expect.stringContaining(`in the backup directory is '${newest.file}'`),
    });
    const ok = await restoreBackup(
      { user: USER, dryRun: true, expectNewest: String(newest.sequence) },
      a.world.ctx,
    );
    expect(ok.path).toContain(newest.file);
    for (const input of [
      { expectNewest: '../etc/passwd' },
      { expectNewest: '0' },
      { expectNewest: newest.file, file: newest.file },
    ]) {
      await expect(restoreBackup({ user: USER, dryRun: true, ...input }, a.world.ctx)).rejects.toMatchObject({
        code: 'BACKUP.BAD_EXPECT_NEWEST',
      });
    }
  });
});
