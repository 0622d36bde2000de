// Crafted backup files (truncated, garbage-tailed, bomb-sized; zstd, gzip, age) fed to verify, restore and the
// rehearsal: each ends with a clear error within a bound, leaves no database and no helper process behind, and the
// backup lock is free afterwards. Before the child stages destroyed both of their pipes, a zstd stage whose reader
// failed (the guard, psql) while zstd still had output blocked on a full pipe and the read never ended.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Verification } from '../../handlers/backup/model';
import { manifestFileName } from '../../handlers/backup/naming';
import type { BackupManifest } from '../../handlers/backup/manifest';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  TEST_SIGNER,
  TEST_TRUST,
  type RealRestoreWorld,
} from '../support/restore-real';

/** Far above what any of these reads takes on a loaded machine; a hang ends here instead of in the test timeout. */
const BOUND_MS = 90_000;

let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let valid: { file: string; sql: string; manifest: BackupManifest };
let identity: string;
let recipient: string;
let sequence = 1000;

async function withinBound<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${BOUND_MS} ms`)), BOUND_MS);
  });
  try {
    return await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

function zstd(bytes: Buffer): Buffer {
  return execFileSync('zstd', ['-1', '-q', '-c', '-'], { input: bytes, maxBuffer: 1 << 30 });
}

function age(bytes: Buffer): Buffer {
  return execFileSync('age', ['-r', recipient], { input: bytes, maxBuffer: 1 << 30 });
}

/** `\restrict` and then `megabytes` of zeros without a newline: a few KB compressed. */
function bombSql(megabytes: number): Buffer {
  return Buffer.concat([Buffer.from('\\restrict abc\n'), Buffer.alloc(megabytes * 1024 * 1024)]);
}

/** A well-formed dump whose first statement fails in psql, followed by megabytes of output still to come. */
function failingEarlySql(): Buffer {
  const key = /^\\restrict (\S+)$/m.exec(valid.sql)?.[1] ?? 'abc';
  const filler = '-- filler line that psql reads and ignores, many times over\n'.repeat(600_000);
  return Buffer.from(
    `\\restrict ${key}\nSELECT 1/0;\n${filler}\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ${key}\n`,
  );
}

let minute = 0;
/** Writes `bytes` as a new backup file of the database (a unique time), signed for those bytes when asked. */
async function place(suffix: string, bytes: Buffer, signed: 'signed' | 'unsigned'): Promise<string> {
  minute += 1;
  const takenAt = new Date(Date.UTC(2026, 0, 1, 0, minute));
  const stamp = takenAt.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  const file = `${database.name}_${stamp}${suffix}`;
  await writeFile(join(directory, file), bytes, { mode: 0o600 });
  if (signed === 'signed') {
    sequence += 1;
    const manifest: BackupManifest = {
      ...valid.manifest,
      file,
      createdAt: takenAt.toISOString(),
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sequence,
      previousManifestSha256: null,
      encryption: suffix.endsWith('.age') ? { scheme: 'age', recipients: [recipient] } : null,
      compression: suffix.includes('.zst') ? 'zstd' : suffix.includes('.gz') ? 'gzip' : 'none',
    };
    await writeFile(join(directory, manifestFileName(file)), await TEST_SIGNER.sign(manifest));
  }
  return file;
}

async function leftoverDatabases(): Promise<string[]> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE $1`,
    [`${database.name}\\_%`],
  );
  return rows.map((r) => r.datname);
}

/** Helper processes of this test process still running (a stage that was never ended). */
function childHelpers(): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /\b(zstd|age|psql)\b/.test(l));
  } catch {
    return [];
  }
}

const read = () => ({ ...TEST_TRUST, allowUnsigned: true, identityFile: identity });

function verifyOf(file: string, options = read()): Promise<Verification> {
  return withinBound(`verify of ${file}`, world.executor.verify(directory, file, options));
}

async function verifyFails(file: string): Promise<string> {
  const result = await verifyOf(file);
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.reason;
}

async function restoreFails(file: string, countRows = false, options = read()): Promise<string> {
  const target = `${database.name}_t${minute}`;
  const error = await withinBound(
    `restore of ${file}`,
    world.executor.restore({ directory, file, targetDatabase: target, read: options, countRows }).then(
      () => null,
      (e: unknown) => e as Error,
    ),
  );
  expect(error).toBeInstanceOf(Error);
  expect(await leftoverDatabases()).toEqual([]);
  return error?.message ?? '';
}

beforeAll(async () => {
  database = await createTestDatabase('bcraft');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-crafted-'));
  world = createRealContext({ url: database.url, directory });
  world.settings.compression = 'zstd';
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL)`);
  await world.db.query(`INSERT INTO items (label) SELECT 'row ' || g FROM generate_series(1, 500) g`);
  const made = await makeBackup(world, new Date('2025-12-31T00:00:00Z'));
  const raw = await readFile(join(directory, made.file));
  const manifestText = await readFile(join(directory, manifestFileName(made.file)), 'utf8');
  valid = {
    file: made.file,
    sql: execFileSync('zstd', ['-d', '-q', '-c', '-'], { input: raw }).toString('utf8'),
    manifest: (JSON.parse(manifestText) as { manifest: BackupManifest }).manifest,
  };
  const keyFile = join(directory, 'age-key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  identity = keyFile;
  recipient = /public key: (age1\w+)/.exec(await readFile(keyFile, 'utf8'))![1]!;
}, 120_000);

afterAll(async () => {
  await world.close();
  await database.drop();
  await rm(directory, { recursive: true, force: true });
});

describe('crafted files end with a clear error, never a hang', () => {
  const sql = () => Buffer.from(valid.sql);
  const cases: { name: string; suffix: string; bytes: () => Buffer; reason: RegExp }[] = [
    {
      name: 'zstd, truncated',
      suffix: '.dump.zst',
      bytes: () => zstd(sql()).subarray(0, 200),
      reason: /does not decompress|completion marker|truncated/,
    },
    {
      name: 'zstd, garbage after the frame',
      suffix: '.dump.zst',
      bytes: () => Buffer.concat([zstd(sql()), randomBytes(64 * 1024)]),
      reason: /does not decompress/,
    },
    {
      name: 'zstd bomb (128 MB of zeros, no newline)',
      suffix: '.dump.zst',
      bytes: () => zstd(bombSql(128)),
      reason: /completion marker|restrict/,
    },
    {
      name: 'zstd, first statement fails while megabytes are still to come',
      suffix: '.dump.zst',
      bytes: () => zstd(failingEarlySql()),
      reason: /division by zero/,
    },
    {
      name: 'gzip, truncated',
      suffix: '.dump.gz',
      bytes: () => gzipSync(sql()).subarray(0, 200),
      reason: /does not decompress/,
    },
    {
      name: 'gzip, garbage after the member',
      suffix: '.dump.gz',
      bytes: () => Buffer.concat([gzipSync(sql()), randomBytes(4096)]),
      reason: /does not decompress/,
    },
    {
      name: 'age, truncated',
      suffix: '.dump.zst.age',
      bytes: () => age(zstd(sql())).subarray(0, 300),
      reason: /cannot be decrypted/,
    },
    {
      name: 'age, garbage after the last chunk',
      suffix: '.dump.zst.age',
      bytes: () => Buffer.concat([age(zstd(sql())), randomBytes(70 * 1024)]),
      reason: /cannot be decrypted/,
    },
    {
      name: 'age around a zstd bomb',
      suffix: '.dump.zst.age',
      bytes: () => age(zstd(bombSql(128))),
      reason: /completion marker|restrict/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: verify and restore (unsigned, on purpose) both refuse`, async () => {
      const file = await place(c.suffix, c.bytes(), 'unsigned');
      // The early-failing SQL is well formed: only psql can find its error.
      if (/division/.test(c.reason.source)) expect((await verifyOf(file)).ok).toBe(true);
      else expect(await verifyFails(file)).toMatch(c.reason);
      expect(await restoreFails(file)).toMatch(c.reason);
      expect(childHelpers()).toEqual([]);
    }, 200_000);
  }

  it('signed by a trusted key, failing in psql while zstd has output: restore and rehearsal end, the lock is free', async () => {
    const file = await place('.dump.zst', zstd(failingEarlySql()), 'signed');
    expect(await restoreFails(file, true)).toMatch(/division by zero/);
    world.settings.rehearse = true;
    const rehearsal = await withinBound(
      'rehearsal',
      rehearseBackup({ file, user: null }, world.ctx).then(
        () => null,
        (e: unknown) => e as Error,
      ),
    );
    expect(rehearsal?.message).toMatch(/division by zero/);
    const restore = await withinBound(
      'complete restore',
      restoreBackup({ user: 'tester@example.com', file }, world.ctx).then(
        () => null,
        (e: unknown) => e as Error,
      ),
    );
    expect(restore?.message).toMatch(/division by zero/);
    expect(await leftoverDatabases()).toEqual([]);
    expect(childHelpers()).toEqual([]);
    // The backup lock was released: the next backup is not BACKUP.BUSY.
    await expect(makeBackup(world)).resolves.toMatchObject({ database: database.name });
  }, 300_000);

  it('a signed file swapped for a bomb of the same size is refused before anything is decompressed', async () => {
    const bomb = zstd(bombSql(128));
    const file = await place('.dump.zst', zstd(sql()), 'signed');
    const size = (await readFile(join(directory, file))).length;
    const same = Buffer.alloc(size);
    bomb.copy(same, 0, 0, Math.min(size, bomb.length));
    await writeFile(join(directory, file), same);
    const signedOnly = { ...TEST_TRUST, allowUnsigned: false, identityFile: identity };
    const verified = await verifyOf(file, signedOnly);
    expect(verified.ok ? '' : verified.reason).toMatch(/not the ones that were signed/);
    expect(await restoreFails(file, false, signedOnly)).toMatch(/not the ones that were signed/);
  }, 200_000);
});
