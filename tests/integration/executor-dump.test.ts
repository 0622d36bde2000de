import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeManifest } from '../../handlers/backup/describe-manifest';
import { readTrustedManifest } from '../../handlers/backup/manifest';
import { backupFileName, manifestFileName } from '../../handlers/backup/naming';
import type { BackupMetadataSeed } from '../../handlers/backup/model';
import { createLocalExecutor } from '../../runtime/executor/local';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { backupSeed } from '../support/backup-seed';
import { dumpNamed, EXECUTOR_SIGNER, EXECUTOR_TRUST } from '../support/backup-signer';
import { rewriteBackup } from '../support/restore-real';
import { recordingLogger } from '../support/recording-logger';

const lines: string[] = [];
const logger = recordingLogger({ bare: true, lines });

function seedFor(database: string): BackupMetadataSeed {
  return backupSeed(database);
}

let db: TestDatabase;
let directory: string;

beforeAll(async () => {
  db = await createTestDatabase('bt_exdump');
  await adminQuery(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)`, [], db.name);
  await adminQuery(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g`, [], db.name);
  // A large object, which a whole-database plain dump must carry.
  await adminQuery(`SELECT lo_from_bytea(424242, 'large object bytes'::bytea)`, [], db.name);
  directory = join(mkdtempSync(join(tmpdir(), 'bomnipotent-exdump-')), 'backups');
});

afterAll(async () => {
  await db.drop();
  rmSync(join(directory, '..'), { recursive: true, force: true });
});

describe('local executor: dump, verify, restore', () => {
  it('writes a complete, checksummed dump with its metadata, and restores it into a new database', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const file = backupFileName(db.name, new Date(), []);
    const metadata = await dumpNamed(executor, { directory, file, seed: seedFor(db.name) });

    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(readdirSync(directory).sort()).toEqual([file, manifestFileName(file)]);
    const bytes = readFileSync(join(directory, file));
    expect(metadata).toMatchObject({
      format: 'bomnipotent-backup/2',
      file,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      database: db.name,
      pgDumpVersion: '15.20',
      trigger: 'manual',
      user: 'admin@example.com',
    });
    expect(metadata.durationMs).toBeGreaterThanOrEqual(0);
    // The manifest on disk is signed by the key the dump was made with and describes exactly this file.
    const trusted = readTrustedManifest(
      readFileSync(join(directory, manifestFileName(file))),
      EXECUTOR_TRUST.trustedKeys,
      file,
    );
    expect(trusted.ok && describeManifest(trusted.manifest)).toEqual(metadata);
    // pg_dump 15.20 opens with \restrict and closes with \unrestrict after the marker: verify must accept that.
    expect(bytes.toString()).toMatch(/^\\restrict /m);
    expect(bytes.toString()).toMatch(/^\\unrestrict /m);
    await expect(executor.verify(directory, file, EXECUTOR_TRUST)).resolves.toEqual({ ok: true, metadata });

    const target = `${db.name}_scratch_rt`;
    await executor.restore({ directory, file, targetDatabase: target, read: EXECUTOR_TRUST });
    const restored = await adminQuery<{ n: string; s: string }>(
      `SELECT count(*) AS n, sum(id)::text AS s FROM items`,
      [],
      target,
    );
    expect(restored.rows[0]).toEqual({ n: '500', s: String((500 * 501) / 2) });
    const lo = await adminQuery<{ b: string }>(
      `SELECT convert_from(lo_get(424242), 'UTF8') AS b`,
      [],
      target,
    );
    expect(lo.rows[0]?.b).toBe('large object bytes');

    const listed = await executor.list({ directory, trust: EXECUTOR_TRUST });
    expect(listed).toMatchObject([
      { file, path: join(directory, file), sizeBytes: bytes.length, state: 'trusted' },
    ]);
    expect(listed[0]?.manifest && describeManifest(listed[0].manifest)).toEqual(metadata);
  });

  it('gives two dumps taken in the same second distinct names', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const dir = join(directory, '..', 'same-second');
    const at = new Date('2030-05-06T07:08:09Z');
    const first = backupFileName(
      db.name,
      at,
      (await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).map((e) => e.file),
    );
    await dumpNamed(executor, { directory: dir, file: first, seed: seedFor(db.name) });
    const second = backupFileName(
      db.name,
      at,
      (await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).map((e) => e.file),
    );
    await dumpNamed(executor, { directory: dir, file: second, seed: seedFor(db.name) });
    expect(first).toBe(`${db.name}_20300506_070809.dump`);
    expect(second).toBe(`${db.name}_20300506_070809_2.dump`);
    expect(
      (await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).map((e) => e.file).sort(),
    ).toEqual([first, second]);
    // A name that exists already is never overwritten: the executor names the file, and takes the next free one.
    const before = readFileSync(join(dir, first));
    const manifestBefore = readFileSync(join(dir, manifestFileName(first)), 'utf8');
    const third = await dumpNamed(executor, { directory: dir, file: first, seed: seedFor(db.name) });
    expect(third.file).toBe(`${db.name}_20300506_070809_3.dump`);
    expect(readFileSync(join(dir, first)).equals(before)).toBe(true);
    expect(readFileSync(join(dir, manifestFileName(first)), 'utf8')).toBe(manifestBefore);
  });

  it('verify reports a changed byte, a truncation, a lost marker and missing metadata', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const dir = join(directory, '..', 'verify');
    const dump = async (second: number) => {
      const file = backupFileName(db.name, new Date(Date.UTC(2031, 0, 1, 0, 0, second)), []);
      await dumpNamed(executor, { directory: dir, file, seed: seedFor(db.name) });
      return file;
    };

    const flipped = await dump(1);
    const bytes = readFileSync(join(dir, flipped));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(join(dir, flipped), bytes);
    const changed = await executor.verify(dir, flipped, EXECUTOR_TRUST);
    expect(changed.ok).toBe(false);
    expect(!changed.ok && changed.reason).toMatch(
      new RegExp(
        `^The backup ${flipped} is refused: checksum mismatch: the bytes are not the ones that were signed`,
      ),
    );

    const truncated = await dump(2);
    const whole = readFileSync(join(dir, truncated));
    writeFileSync(join(dir, truncated), whole.subarray(0, whole.length - 200));
    const cut = await executor.verify(dir, truncated, EXECUTOR_TRUST);
    expect(cut.ok).toBe(false);
    // The signed size catches it before any byte is read.
    expect(!cut.ok && cut.reason).toMatch(
      /is refused: it has \d+ bytes but its signed manifest says \d+ \(truncated\)/,
    );

    // Truncated and signed again: the checksum matches, only the completion check can catch it.
    const unmarked = await dump(3);
    await rewriteBackup(
      dir,
      unmarked,
      (content) => content.slice(0, content.indexOf('-- PostgreSQL database dump complete')),
      EXECUTOR_SIGNER,
    );
    const incomplete = await executor.verify(dir, unmarked, EXECUTOR_TRUST);
    expect(!incomplete.ok && incomplete.reason).toMatch(/completion marker .* is missing/);

    const orphan = await dump(4);
    rmSync(join(dir, manifestFileName(orphan)));
    const unsigned = await executor.verify(dir, orphan, EXECUTOR_TRUST);
    expect(unsigned.ok).toBe(false);
    expect(!unsigned.ok && unsigned.reason).toMatch(
      new RegExp(`${orphan} is refused: it has no signed manifest`),
    );
    expect(
      (await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).find((e) => e.file === orphan)?.state,
    ).toBe('unsigned');
  });

  it('lists only our dumps, removes only our names, sweeps stale partials, appends the audit log', async () => {
    const executor = createLocalExecutor({ dbUrl: db.url, logger });
    const dir = join(directory, '..', 'catalog');
    expect(await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).toEqual([]);
    const file = `${db.name}_20320101_000000.dump`;
    await dumpNamed(executor, { directory: dir, file, seed: seedFor(db.name) });
    const stale = join(dir, `.${db.name}_20320101_000001.dump.partial`);
    const fresh = join(dir, `.${db.name}_20320101_000002.dump.partial`);
    writeFileSync(stale, 'left by a crash');
    utimesSync(stale, new Date('2020-01-01'), new Date('2020-01-01'));
    writeFileSync(fresh, 'being written by someone alive');
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    expect((await executor.list({ directory: dir, trust: EXECUTOR_TRUST })).map((e) => e.file)).toEqual([
      file,
    ]);

    await dumpNamed(executor, {
      directory: dir,
      file: `${db.name}_20320101_000003.dump`,
      seed: seedFor(db.name),
    });
    const names = readdirSync(dir);
    expect(names).not.toContain(`.${db.name}_20320101_000001.dump.partial`);
    expect(names).toContain(`.${db.name}_20320101_000002.dump.partial`);

    await expect(executor.remove(dir, 'notes.txt')).rejects.toMatchObject({ code: 'EXECUTOR.INVALID_NAME' });
    await expect(executor.remove(dir, `../${file}`)).rejects.toMatchObject({ code: 'EXECUTOR.INVALID_NAME' });
    await executor.remove(dir, file);
    expect(readdirSync(dir)).not.toContain(file);
    expect(readdirSync(dir)).not.toContain(manifestFileName(file));
    expect(readdirSync(dir)).toContain('notes.txt');

    const auditDir = join(dir, 'audit');
    const record = {
      at: '2032-01-01T00:00:00.000Z',
      action: 'backup' as const,
      outcome: 'failed' as const,
      user: null,
      trigger: 'scheduled' as const,
      file: null,
      message: 'failed for postgres://bob:hunter2@db/x',
    };
    await executor.appendAudit(auditDir, record);
    await executor.appendAudit(auditDir, { ...record, outcome: 'succeeded', message: 'ok' });
    const log = readFileSync(join(auditDir, 'audit.log.jsonl'), 'utf8').trimEnd().split('\n');
    expect(log.map((l) => (JSON.parse(l) as { outcome: string }).outcome)).toEqual(['failed', 'succeeded']);
    expect(log[0]).not.toContain('hunter2');
    expect(statSync(join(auditDir, 'audit.log.jsonl')).mode & 0o777).toBe(0o600);

    expect(await executor.freeBytes(join(dir, 'does', 'not', 'exist'))).toBeGreaterThan(0);
  });
});
