// A fresh server under another database name backs up its empty database at start; the old server's backups are
// only in the off-site store. "The latest" is then that empty backup: the restore refuses it and names the store's
// backup of the other database with the exact --file command, which restores it (issue 19 item 5, for the store).
import { describe, expect, it } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { offsiteSettings } from '../support/offsite-fixture';
import { backupOf, freshBucket, offsiteWorld, s3Suite } from '../support/offsite-world';
import { adminQuery } from '../support/pg';
import { testSigner } from '../support/backup-signer';
import { rejection as failure } from '../support/rejection';
import { snapshotDatabase } from '../support/restore-snapshot';
import { TEST_SIGNER } from '../support/restore-real';

const suite = s3Suite();
const USER = 'admin@example.com';

describe('the near-empty guard sees the store', () => {
  it('refuses the fresh server’s empty backup while the store holds the old database’s, and names it', async () => {
    const bucket = await freshBucket(suite.server, 'nearempty');
    const settings = offsiteSettings(suite.server.endpoint, bucket);
    const old = await offsiteWorld(suite.cleanups, settings);
    await adminQuery(`CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL)`, [], old.database.name);
    await adminQuery(
      `INSERT INTO docs SELECT g, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, 20000) g`,
      [],
      old.database.name,
    );
    const full = (await backupOf(old)).metadata;

    // The new server: another database name, an empty directory, a key of its own, trusting the old key.
    const fresh = await offsiteWorld(suite.cleanups, settings, {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey],
    });
    const empty = (await backupOf(fresh)).metadata; // its start-up backup
    await adminQuery(`CREATE TABLE kept (note text)`, [], fresh.database.name);
    const before = await snapshotDatabase(fresh.database.url, fresh.database.name);

    for (const dryRun of [true, false]) {
      const refused = await failure(restoreBackup({ user: USER, dryRun }, fresh.world.ctx));
      expect(refused.code).toBe('BACKUP.NEAR_EMPTY');
      expect(refused.message).toContain(`'${full.file}' of database '${old.database.name}'`);
      expect(refused.suggestion).toContain(`completely-restore --file ${full.file}`);
      expect(refused.suggestion).toContain('list --offsite');
      expect(refused.suggestion).toContain(`--file ${empty.file}`);
    }
    expect(await snapshotDatabase(fresh.database.url, fresh.database.name)).toEqual(before);

    // Named, the store's backup of the other database is downloaded and restored.
    const restored = await restoreBackup({ user: USER, file: full.file }, fresh.world.ctx);
    expect(restored.metadata.database).toBe(old.database.name);
    const rows = await adminQuery<{ n: string }>(
      'SELECT count(*)::text AS n FROM docs',
      [],
      fresh.database.name,
    );
    expect(rows.rows[0]?.n).toBe('20000');
  });
});
