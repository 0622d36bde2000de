// Off-site copies in the real backup flow: real PostgreSQL, the real executor and a real S3 protocol server, backups
// of format 2 (zstd data file and its signed manifest). Every backup lands in the store within its run; a store outage
// keeps the local backup and heals on the next run; off-site retention; and a fresh server with an empty database and
// directory, trusting the old server's public key, restores from the store alone and refuses what an unknown key signed.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { listBackupsWithLocations } from '../../handlers/offsite/list';
import type { OffsiteSettings } from '../../handlers/offsite/model';
import { offsiteSettings, testStore } from '../support/offsite-fixture';
import {
  backupOf,
  freshBucket as newBucket,
  offsiteWorld as makeWorld,
  s3Suite,
  type OffsiteWorld,
} from '../support/offsite-world';
import { adminQuery } from '../support/pg';
import { testSigner } from '../support/backup-signer';
import { backupSeed } from '../support/backup-seed';
import { TEST_SIGNER } from '../support/restore-real';

const suite = s3Suite();
const cleanups = suite.cleanups;

const freshBucket = () => newBucket(suite.server);
const offsiteWorld = (offsite: OffsiteSettings, keys: Parameters<typeof makeWorld>[2] = {}) =>
  makeWorld(cleanups, offsite, keys);
const backup = backupOf;

describe('off-site copies of every backup', () => {
  it('puts each backup in the store within the run that made it', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    const { metadata } = await backup(w);
    const listing = await testStore(offsiteSettings(suite.server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file)).toEqual([metadata.file]);
    expect(listing.backups[0]?.sizeBytes).toBe(metadata.sizeBytes);
    expect(metadata.file).toMatch(/\.dump\.zst$/);
    expect(listing.backups[0]?.manifestFile).toBe(`${metadata.file}.manifest.json`);
    const text = await w.metrics.renderPrometheus();
    expect(text).toMatch(/^bomnipotent_offsite_last_success_timestamp_seconds \d+/m);
    expect(text).toContain('bomnipotent_offsite_failures_total 0');
  });

  it('names a local backup whose name the store holds for other bytes, and copies the rest', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    const { metadata: first } = await backup(w);
    // The same name, other bytes: the local file is gone and a backup of other content is made at that very time.
    await rm(join(w.directory, first.file));
    await rm(join(w.directory, `${first.file}.manifest.json`));
    await adminQuery(`CREATE TABLE other_content (note text)`, [], w.database.name);
    const remade = await w.world.executor.dump({
      directory: w.directory,
      seed: { ...backupSeed(w.database.name), startedAt: first.startedAt },
      options: { compression: 'zstd', encryptionRecipients: [] },
      minSequence: 2,
      signer: TEST_SIGNER,
    });
    expect([remade.file, remade.manifest?.sha256 !== first.sha256]).toEqual([first.file, true]);

    await new Promise((r) => setTimeout(r, 1_100)); // the next backup in another second
    const { metadata: next } = await backup(w);
    const listing = await testStore(offsiteSettings(suite.server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file).sort()).toEqual([first.file, next.file].sort());
    expect(w.world.logs.join('\n')).toMatch(
      new RegExp(
        `\\[ERROR\\] Off-site copy .* already holds other bytes under the name of the local backup\\(s\\) '${first.file.replace(/\./g, '\\.')}'`,
      ),
    );
    expect(await w.metrics.renderPrometheus()).toContain('bomnipotent_offsite_failures_total 1');
  });

  it('keeps the local backup when the store is down, counts the failure, and catches up oldest first', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    await suite.server.stop();
    let first: string;
    try {
      const made = await backup(w);
      first = made.metadata.file;
      // The answer says so too (the client prints it after the success line), with the reason the log has.
      expect(made.warnings).toEqual([
        expect.stringMatching(
          /^The off-site copy failed; the backup is kept locally and copied on the next run: .+/,
        ),
      ]);
    } finally {
      await suite.server.restart();
    }
    expect(await readdir(w.directory)).toContain(first);
    expect(await w.metrics.renderPrometheus()).toContain('bomnipotent_offsite_failures_total 1');
    expect(w.world.logs.join('\n')).toMatch(
      /\[ERROR\] Off-site copy to s3:\/\/flow-[^ ]+ failed; the local backups are kept/,
    );

    const made = await backup(w);
    expect(made.warnings).toEqual([]);
    const second = made.metadata.file;
    const copied = w.world.logs.filter((line) => line.includes('[INFO] Copied '));
    expect(copied.map((line) => line.split(' ')[2])).toEqual([first, second]);
    const listing = await testStore(offsiteSettings(suite.server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file).sort()).toEqual([first, second].sort());
  });

  it('warns when the newest confirmed off-site copy grows old while the store keeps failing', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    // A period long enough that the first run is fresh however slow the machine is; then 1 s, so the wait makes it old.
    w.world.settings.periodMs = 60_000;
    const { metadata } = await backup(w);
    expect(w.world.logs.join('\n')).not.toMatch(/\[WARN\] .*off-site/);
    w.world.settings.periodMs = 1_000;
    const newest = /^bomnipotent_offsite_newest_backup_timestamp_seconds (\d+(?:\.\d+)?)$/m.exec(
      await w.metrics.renderPrometheus(),
    );
    expect(Number(newest?.[1])).toBe(Date.parse(metadata.startedAt) / 1000);
    await suite.server.stop();
    try {
      await new Promise((r) => setTimeout(r, 2_100)); // older than twice the period
      await backup(w);
    } finally {
      await suite.server.restart();
    }
    const logs = w.world.logs.join('\n');
    expect(logs).toMatch(/\[ERROR\] Off-site copy to s3:\/\/flow-[^ ]+ failed/);
    expect(logs).toContain(
      `[WARN] The newest off-site backup in s3://${bucket}/bomnipotent/ is from ${metadata.startedAt}, older than twice the period (1.0 seconds). The off-site copies are failing: see the error above.`,
    );
  });

  it('warns after a failed run when no off-site copy was ever confirmed', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    await suite.server.stop();
    try {
      await backup(w);
    } finally {
      await suite.server.restart();
    }
    expect(w.world.logs.join('\n')).toContain(
      `[WARN] No off-site backup in s3://${bucket}/bomnipotent/ has been confirmed since the server started: the store could not be read. The off-site copies are failing: see the error above.`,
    );
  });

  it('applies off-site retention after an upload, keeping the newest', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket, { keep: 2 }));
    const files: string[] = [];
    for (let i = 0; i < 3; i += 1) files.push((await backup(w)).metadata.file);
    const listing = await testStore(offsiteSettings(suite.server.endpoint, bucket)).list();
    expect(listing.backups.map((b) => b.file).sort()).toEqual(files.slice(1).sort());
    expect((await readdir(w.directory)).filter((f) => f.endsWith('.dump.zst'))).toHaveLength(3); // local keep is unset
  });
});

describe('list', () => {
  it('shows each backup as local, off-site or both, and the store alone with offsiteOnly', async () => {
    const bucket = await freshBucket();
    const w = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    const gone = (await backup(w)).metadata.file;
    const both = (await backup(w)).metadata.file;
    for (const name of [gone, `${gone}.manifest.json`]) await rm(join(w.directory, name));
    // The next backup must not reuse the removed name (same second): local names do not look into the store.
    await new Promise((r) => setTimeout(r, 1_100));
    await suite.server.stop();
    let local: string;
    try {
      local = (await backup(w)).metadata.file;
      const down = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: false });
      expect(down.backups.map((b) => [b.file, b.location])).toEqual([
        [local, 'local'],
        [both, 'local'],
      ]);
      expect(down.offsite?.error).toContain(`s3://${bucket}/bomnipotent/`);
    } finally {
      await suite.server.restart();
    }
    const listing = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: false });
    expect(listing.backups.map((b) => [b.file, b.location])).toEqual([
      [local, 'local'],
      [both, 'both'],
      [gone, 'offsite'],
    ]);
    // The store's view: every copy located `offsite`, the rehearsal mark from the signed record of the same backup.
    await rehearseBackup({ file: both, user: null }, w.world.ctx);
    const remote = await listBackupsWithLocations(w.world.ctx, { offsiteOnly: true });
    expect(remote.backups.map((b) => [b.file, b.location, b.rehearsal?.state ?? null])).toEqual([
      [both, 'offsite', 'passed'],
      [gone, 'offsite', null],
    ]);
  });
});

/** Server A with a table that says where its data comes from, copying off-site into a bucket of its own. */
async function serverA(): Promise<{ bucket: string; a: OffsiteWorld }> {
  const bucket = await freshBucket();
  const a = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
  await adminQuery(
    `CREATE TABLE recovery_probe (note text); INSERT INTO recovery_probe VALUES ('from A')`,
    [],
    a.database.name,
  );
  return { bucket, a };
}

describe('a fresh server restores from the store alone', () => {
  it("restores server A's backup into server B, which trusts A's public key and holds nothing else", async () => {
    const { bucket, a } = await serverA();
    const { metadata } = await backup(a);

    // B has a key of its own; A's public key is in its trusted_keys.
    const b = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket), {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey],
    });
    expect(await readdir(b.directory)).toEqual([]);
    const listed = await listBackupsWithLocations(b.world.ctx, { offsiteOnly: false });
    expect(listed.backups.map((x) => [x.file, x.location, x.state])).toEqual([
      [metadata.file, 'offsite', 'trusted'],
    ]);
    const result = await restoreBackup({ user: 'admin@example.com', file: metadata.file }, b.world.ctx);
    expect(result.metadata.sha256).toBe(metadata.sha256);
    expect((await readdir(b.directory)).sort()).toEqual(
      expect.arrayContaining([metadata.file, `${metadata.file}.manifest.json`]),
    );
    const rows = await adminQuery<{ note: string }>('SELECT note FROM recovery_probe', [], b.database.name);
    expect(rows.rows).toEqual([{ note: 'from A' }]);
    expect(b.world.logs.join('\n')).toContain(`Downloaded ${metadata.file} from s3://${bucket}/bomnipotent/`);
  });

  it("a new server's own first backup does not pass for the latest: the restore names both chains", async () => {
    const { bucket, a } = await serverA();
    await backup(a);
    const newestOfA = (await backup(a)).metadata;
    // A is lost; B comes up on a new database of the same name and backs it up at once (scheduled), to the store.
    await adminQuery(`DROP DATABASE "${a.database.name}" WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE "${a.database.name}"`);
    const b = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket), {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey],
      database: a.database,
    });
    // Not within A's last second: a name the store holds already is not uploaded again (a known narrow gap).
    await new Promise((r) => setTimeout(r, 1_100));
    const own = (await backup(b)).metadata;

    const refused = restoreBackup({ user: 'admin@example.com' }, b.world.ctx);
    await expect(refused).rejects.toMatchObject({
      code: 'BACKUP.CHAIN_RESTARTED',
      message: expect.stringContaining(`'${own.file}' (sequence 1,`),
      suggestion: expect.stringContaining(`--file ${newestOfA.file}`),
    });
    const named = await restoreBackup({ user: 'admin@example.com', file: newestOfA.file }, b.world.ctx);
    expect(named.metadata.sha256).toBe(newestOfA.sha256);
    const rows = await adminQuery<{ note: string }>('SELECT note FROM recovery_probe', [], a.database.name);
    expect(rows.rows).toEqual([{ note: 'from A' }]);
  });

  it('a dry run of a backup only in the store names the object and downloads nothing', async () => {
    const bucket = await freshBucket();
    const a = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket));
    const { metadata } = await backup(a);
    const b = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket), {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey],
    });
    const result = await restoreBackup(
      { user: 'admin@example.com', file: metadata.file, dryRun: true },
      b.world.ctx,
    );
    expect(result).toMatchObject({
      dryRun: true,
      offsite: {
        location: `s3://${bucket}/bomnipotent/`,
        bucket,
        key: `bomnipotent/${metadata.file}`,
        directory: b.directory,
      },
    });
    expect(result.metadata.sha256).toBe(metadata.sha256);
    expect(await readdir(b.directory)).toEqual(['audit.log.jsonl']); // the dry run's audit record, nothing else
    expect(b.world.logs.join('\n')).not.toContain('Downloading');

    // The dry run checks where the real restore would download to: a directory that cannot be written is named.
    await rm(b.directory, { recursive: true });
    await writeFile(b.directory, 'not a directory');
    await expect(
      restoreBackup({ user: 'admin@example.com', file: metadata.file, dryRun: true }, b.world.ctx),
    ).rejects.toMatchObject({
      code: 'EXECUTOR.DIRECTORY_NOT_WRITABLE',
      message: expect.stringContaining(b.directory),
    });
    await rm(b.directory);
    await mkdir(b.directory);
  });

  it('refuses a backup in the store signed by a key it does not trust, and downloads nothing', async () => {
    const bucket = await freshBucket();
    const stranger = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket), {
      signer: testSigner(),
    });
    await adminQuery(`CREATE TABLE planted (note text)`, [], stranger.database.name);
    const { metadata } = await backup(stranger);
    expect((await testStore(offsiteSettings(suite.server.endpoint, bucket)).list()).backups).toHaveLength(1);

    const b = await offsiteWorld(offsiteSettings(suite.server.endpoint, bucket), {
      signer: testSigner(),
      trustedKeys: [TEST_SIGNER.publicKey], // the old server's key, not the stranger's
    });
    const listed = await listBackupsWithLocations(b.world.ctx, { offsiteOnly: true });
    expect(listed.backups).toHaveLength(1);
    expect(listed.backups[0]).toMatchObject({ file: metadata.file, state: 'untrusted', verified: false });
    expect(listed.backups[0]?.problem).toContain('signed by a key this server does not trust');

    await expect(
      restoreBackup({ user: 'admin@example.com', file: metadata.file }, b.world.ctx),
    ).rejects.toMatchObject({ code: 'OFFSITE.UNTRUSTED' });
    // Only the audit record of the refused restore: no data file, no manifest, no partial download.
    expect(await readdir(b.directory)).toEqual(['audit.log.jsonl']);
    const tables = await adminQuery(
      `SELECT 1 FROM information_schema.tables WHERE table_name = 'planted'`,
      [],
      b.database.name,
    );
    expect(tables.rows).toEqual([]);
  });
});
