// Faults of format 2, caused for real: forged, resigned, renamed, truncated, bit-flipped, symlinked and future-dated
// files, an unsigned dump trying to run a shell command, a wrong age identity, zstd missing. Each is refused with the
// file and the reason, and nothing is restored.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  existsSync,
  cpSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFileName } from '../../handlers/backup/naming';
import { signManifest, type BackupManifest } from '../../handlers/backup/manifest';
import type { CatalogEntry } from '../../handlers/backup/model';
import type { Executor } from '../../runtime/executor/executor';
import { createLocalExecutor } from '../../runtime/executor/local';
import { silentLogger } from '../../runtime/observability/logger';
import { backupSeed } from '../support/backup-seed';
import { testSigner, trustOf } from '../support/backup-signer';
import { rewriteBackup } from '../support/restore-real';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { PG_BIN } from '../support/pg-bin';

let db: TestDatabase;
let root: string;
let executor: Executor;
const signer = testSigner();
const trust = trustOf(signer);
const MARKER = join(tmpdir(), `bomnipotent-shell-${process.pid}`);

beforeAll(async () => {
  db = await createTestDatabase('bt_fmt2f');
  await adminQuery(`CREATE TABLE t (id int PRIMARY KEY)`, [], db.name);
  await adminQuery(`INSERT INTO t SELECT generate_series(1, 100)`, [], db.name);
  root = mkdtempSync(join(tmpdir(), 'bomnipotent-fmt2f-'));
  executor = createLocalExecutor({ dbUrl: db.url, logger: silentLogger() });
});

afterAll(async () => {
  await db.drop();
  rmSync(root, { recursive: true, force: true });
  rmSync(MARKER, { force: true });
});

let n = 0;
async function fresh(
  compression: 'zstd' | 'none' = 'zstd',
  recipients: string[] = [],
): Promise<{ dir: string; entry: CatalogEntry }> {
  n += 1;
  const dir = join(root, `d${n}`);
  const entry = await executor.dump({
    directory: dir,
    seed: backupSeed(db.name),
    options: { compression, encryptionRecipients: recipients },
    minSequence: 1,
    signer,
  });
  return { dir, entry };
}

async function stateOf(dir: string, file: string) {
  const listed = await executor.list({ directory: dir, trust });
  return listed.find((e) => e.file === file);
}

async function restoreRefused(dir: string, file: string, allowUnsigned = false): Promise<string> {
  const target = `${db.name}_x${n}`;
  const error = await executor
    .restore({ directory: dir, file, targetDatabase: target, read: { ...trust, allowUnsigned } })
    .then(
      () => null,
      (e: unknown) => e as Error,
    );
  expect(error, 'the restore must be refused').not.toBeNull();
  const { rows } = await adminQuery(`SELECT 1 FROM pg_database WHERE datname = $1`, [target]);
  expect(rows).toEqual([]); // nothing restored, nothing left
  return error!.message;
}

describe('format 2: forged and altered backups are never trusted', () => {
  it('a manifest signed by another key is untrusted, and refused by restore', async () => {
    const { dir, entry } = await fresh();
    const manifest = JSON.parse(readFileSync(join(dir, manifestFileName(entry.file)), 'utf8'))
      .manifest as BackupManifest;
    writeFileSync(
      join(dir, manifestFileName(entry.file)),
      signManifest(manifest, generateKeyPairSync('ed25519').privateKey),
    );
    expect((await stateOf(dir, entry.file))?.reason).toMatch(/key this server does not trust/);
    expect(await restoreRefused(dir, entry.file)).toMatch(/does not trust/);
  });

  it('an edited manifest (forged size) fails its signature', async () => {
    const { dir, entry } = await fresh();
    const path = join(dir, manifestFileName(entry.file));
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"sizeBytes": \d+/, '"sizeBytes": 1'));
    expect((await stateOf(dir, entry.file))?.reason).toMatch(/signature does not match/);
  });

  it('a renamed file no longer matches its manifest', async () => {
    const { dir, entry } = await fresh();
    const renamed = entry.file.replace(/_(\d{6})\.dump/, '_$1_2.dump');
    renameSync(join(dir, entry.file), join(dir, renamed));
    renameSync(join(dir, manifestFileName(entry.file)), join(dir, manifestFileName(renamed)));
    expect((await stateOf(dir, renamed))?.reason).toMatch(/renamed/);
  });

  it('a truncated file is untrusted in the list and refused', async () => {
    const { dir, entry } = await fresh();
    truncateSync(join(dir, entry.file), entry.sizeBytes - 10);
    expect((await stateOf(dir, entry.file))?.reason).toMatch(/truncated/);
    expect(await restoreRefused(dir, entry.file)).toMatch(/truncated/);
  });

  it('a flipped bit (same size) is caught by the full read before psql commits anything', async () => {
    const { dir, entry } = await fresh('none');
    const path = join(dir, entry.file);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('COPY');
    bytes[at + 1] = bytes[at + 1]! ^ 0x20;
    writeFileSync(path, bytes);
    const verified = await executor.verify(dir, entry.file, trust);
    expect(verified).toMatchObject({ ok: false });
    expect(await restoreRefused(dir, entry.file)).toMatch(/checksum mismatch/);
  });

  it('a symlink in the directory is refused, also as the named file of a restore', async () => {
    const { dir, entry } = await fresh();
    const elsewhere = join(root, `real-${n}`);
    renameSync(join(dir, entry.file), elsewhere);
    symlinkSync(elsewhere, join(dir, entry.file));
    expect((await stateOf(dir, entry.file))?.reason).toMatch(/symbolic link/);
    expect(await restoreRefused(dir, entry.file, true)).toMatch(/symbolic link/);
  });

  it('a name dated in the future with a signed manifest of another time is never trusted', async () => {
    const { dir, entry } = await fresh();
    const future = entry.file.replace(/_\d{8}_\d{6}/, '_29990101_000000');
    cpSync(join(dir, entry.file), join(dir, future));
    cpSync(join(dir, manifestFileName(entry.file)), join(dir, manifestFileName(future)));
    expect((await stateOf(dir, future))?.state).toBe('untrusted');
  });
});

/** A directory `name` under the test root holding one dump file `file` with `text`; answers the directory. */
function dirWithDump(name: string, file: string, text: string): string {
  const dir = join(root, name);
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, file), text);
  return dir;
}

describe('format 2: psql gets only guarded SQL', () => {
  it('an unsigned dump with a shell command is refused even with --allow-unsigned, and the command never runs', async () => {
    const file = `${db.name}_20260101_000000.dump`;
    const dir = dirWithDump(
      'shell',
      file,
      `--\n-- PostgreSQL database dump\n--\n\n\\! touch ${MARKER}\nCREATE TABLE x (id int);\n\n--\n-- PostgreSQL database dump complete\n--\n\n`,
    );
    expect((await stateOf(dir, file))?.state).toBe('unsigned');
    expect(await restoreRefused(dir, file, true)).toMatch(/\\restrict/);
    expect(existsSync(MARKER)).toBe(false);
  });

  it('an \\unrestrict before the end is refused before psql could leave restricted mode', async () => {
    const file = `${db.name}_20260101_000001.dump`;
    const dir = dirWithDump(
      'unrestrict',
      file,
      `--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\\unrestrict abc\n\\! touch ${MARKER}\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n`,
    );
    expect(await restoreRefused(dir, file, true)).toMatch(/unrestrict/);
    expect(existsSync(MARKER)).toBe(false);
  });
  it.each([
    ['in the middle of a line', (key: string) => `SELECT 1; \\unrestrict ${key}\n`],
    ['followed by more on its line', (key: string) => `\\unrestrict ${key} \\! true\n`],
  ])('an \\unrestrict %s is refused; the shell line after it never runs', async (_where, line) => {
    const file = `${db.name}_20260101_000002.dump`;
    const dir = dirWithDump(
      `unrestrict-${n}`,
      file,
      `--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\nCREATE TABLE y (id int);\n${line('abc')}\\! touch ${MARKER}\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n`,
    );
    expect(await restoreRefused(dir, file, true)).toMatch(/unrestrict/);
    expect(existsSync(MARKER)).toBe(false);
  });
});

describe('format 2: a signed dump is checked on its way into psql', () => {
  it('a signed dump with an \\unrestrict in its middle is refused by the restore; the shell line after it never runs', async () => {
    // Only someone holding a trusted key could sign this: the guard on the feed still stops it, block by block.
    const { dir, entry } = await fresh('none');
    await rewriteBackup(
      dir,
      entry.file,
      (sql) => {
        const key = /^\\restrict (\S+)$/m.exec(sql)?.[1] ?? '';
        return sql.replace(/^CREATE TABLE /m, `\\unrestrict ${key}\n\\! touch ${MARKER}\nCREATE TABLE `);
      },
      signer,
    );
    expect((await stateOf(dir, entry.file))?.state).toBe('trusted');
    expect(await restoreRefused(dir, entry.file)).toMatch(/unrestrict/);
    expect(existsSync(MARKER)).toBe(false);
  });
});

describe('format 2: encryption with age, and missing tools', () => {
  it('encrypts with age; the real age CLI and zstd restore it by hand; a wrong identity is refused', async () => {
    const keyFile = join(root, 'age-key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))![1]!;
    const { dir, entry } = await fresh('zstd', [recipient]);
    expect(entry.file.endsWith('.dump.zst.age')).toBe(true);
    // By hand with standard tools: age -d | zstd -dc | psql.
    const target = `${db.name}_byhand`;
    await adminQuery(`CREATE DATABASE "${target}" TEMPLATE template0`);
    execFileSync('bash', [
      '-o',
      'pipefail',
      '-c',
      `age -d -i "${keyFile}" "${join(dir, entry.file)}" | zstd -dc | psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d "${db.url.replace(db.name, target)}"`,
    ]);
    const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM t`, [], target);
    expect(rows[0]?.n).toBe('100');
    await adminQuery(`DROP DATABASE "${target}"`);
    // The product restores it with the identity, and refuses a wrong one naming the file.
    await expect(
      executor.verify(dir, entry.file, { ...trust, identityFile: keyFile }),
    ).resolves.toMatchObject({ ok: true });
    const wrongKey = join(root, 'age-wrong.txt');
    execFileSync('age-keygen', ['-o', wrongKey], { stdio: 'ignore' });
    const refused = await executor
      .restore({
        directory: dir,
        file: entry.file,
        targetDatabase: `${db.name}_wrong`,
        read: { ...trust, identityFile: wrongKey },
      })
      .catch((e: unknown) => e as Error);
    expect((refused as Error).message).toContain(entry.file);
    expect((refused as Error).message).toMatch(/cannot be decrypted/);
  });

  it('the product restores a file that the age CLI encrypted (unsigned, on purpose)', async () => {
    const keyFile = join(root, 'age-key2.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
    const recipient = /public key: (age1\w+)/.exec(readFileSync(keyFile, 'utf8'))![1]!;
    const { dir, entry } = await fresh('none');
    const encrypted = `${entry.file}.age`;
    execFileSync('age', ['-r', recipient, '-o', join(dir, encrypted), join(dir, entry.file)]);
    const target = `${db.name}_agecli`;
    await executor.restore({
      directory: dir,
      file: encrypted,
      targetDatabase: target,
      read: { ...trust, allowUnsigned: true, identityFile: keyFile },
    });
    const { rows } = await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM t`, [], target);
    expect(rows[0]?.n).toBe('100');
    await adminQuery(`DROP DATABASE "${target}"`);
  });

  it('zstd missing: a clear error naming the tool and what to do, and no file left', async () => {
    const dir = join(root, 'nozstd');
    const pgBin = PG_BIN;
    const noZstd = createLocalExecutor({ dbUrl: db.url, logger: silentLogger(), env: { PATH: pgBin } });
    const error = await noZstd
      .dump({
        directory: dir,
        seed: backupSeed(db.name),
        options: { compression: 'zstd', encryptionRecipients: [] },
        minSequence: 1,
        signer,
      })
      .then(
        () => null,
        (e: unknown) => e as Error & { code: string },
      );
    expect(error).toMatchObject({ code: 'EXECUTOR.TOOL_NOT_FOUND' });
    expect(error?.message).toMatch(/zstd was not found/);
    expect((await noZstd.list({ directory: dir, trust })).length).toBe(0);
  });
});
