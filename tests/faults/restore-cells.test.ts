// Fault matrix, restores through the server: a bad newest backup, psql failing halfway, a role that may not swap,
// and requests that arrive while a restore runs. Each cell: old data or the backup's (by fingerprint), the cause
// named, nothing left behind.
import { copyFileSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dirname } from 'node:path';
import { manifestFileName, nameStamp } from '../../handlers/backup/naming';
import { loadSigningKey, signerFor } from '../../runtime/backups/signing-key';
import { beforeCompletionMarker, rewriteBackup } from '../support/restore-real';
import { uniqueDatabaseName } from '../support/pg';
import type { ClientRun } from '../support/client-program';
import {
  adminQuery,
  backupFiles,
  changeContent,
  expectNothingLeft,
  openCell,
  until,
  type CellWorld,
} from './harness';

let world: CellWorld | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await world?.close();
  world = undefined;
  for (const c of cleanups.splice(0)) await c();
});

interface Prepared {
  world: CellWorld;
  backup: string;
  backupFp: string;
  oldFp: string;
}

/** A cell with one good backup through the server, then changed content: "old" and "backup" differ. */
async function prepared(prefix: string, extra = ''): Promise<Prepared> {
  world = await openCell(prefix);
  await world.start(extra);
  const created = await world.client('database-backup', 'create');
  expect(created.exitCode, created.stderr).toBe(0);
  const backupFp = await world.fingerprint();
  await changeContent(world.db.name);
  const oldFp = await world.fingerprint();
  expect(oldFp).not.toBe(backupFp);
  return { world, backup: backupFiles(world)[0]!, backupFp, oldFp };
}

/** Plain SQL files, so that a cell can edit the dump's text. */
const PLAIN = 'compression = "none"';

/** The cell server's own backup-signing key (generated next to its config file). */
function serverSigner(world: CellWorld) {
  return signerFor(loadSigningKey(join(dirname(world.directory), 'backup-signing-key.pem')));
}

/** The restore goes through and brings back exactly the genuine backup: the planted file was never chosen. */
async function restoresGenuine(p: Prepared, planted: string): Promise<void> {
  const list = await p.world.client('database-backup', 'list');
  expect(list.exitCode, list.stderr).toBe(0);
  expect(list.stdout).toMatch(new RegExp(`${planted}.*✗`));
  const real = await p.world.client('database-backup', 'completely-restore');
  expect(real.exitCode, real.stderr).toBe(0);
  expect(real.stdout).toContain(`'${join(p.world.directory, p.backup)}'`);
  expect(await p.world.fingerprint()).toBe(p.backupFp);
  await expectNothingLeft(p.world);
}

/**
 * A name one second newer than `file`, so that it is the newest backup. A real second later (a backup taken at :59
 * once got a name ending in 60, which is no backup name: the file was not listed and the CI run failed).
 */
function newerName(file: string): string {
  return file.replace(/_(\d{8})_(\d{6})\.dump$/, (_m, day: string, time: string) => {
    const at = Date.UTC(
      +day.slice(0, 4),
      +day.slice(4, 6) - 1,
      +day.slice(6),
      +time.slice(0, 2),
      +time.slice(2, 4),
    );
    return `_${nameStamp(new Date(at + (Number(time.slice(4)) + 1) * 1000))}.dump`;
  });
}

async function restoreRefused(p: Prepared, cause: RegExp): Promise<void> {
  const dry = await p.world.client('database-backup', 'completely-restore', '--dry-run');
  expect(dry.exitCode, dry.stdout).toBe(1);
  expect(dry.stderr).toMatch(cause);
  const real = await p.world.client('database-backup', 'completely-restore');
  expect(real.exitCode, real.stdout).toBe(1);
  expect(real.stderr).toMatch(cause);
  expect(await p.world.fingerprint()).toBe(p.oldFp);
  await expectNothingLeft(p.world);
}

describe('restore', () => {
  it('corrupt newest backup (one byte changed)', async () => {
    const p = await prepared('fx_corrupt');
    const path = join(p.world.directory, p.backup);
    const bytes = readFileSync(path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(path, bytes);
    await restoreRefused(p, /(checksum mismatch|does not decompress)/);
  });

  it('truncated newest backup', async () => {
    const p = await prepared('fx_trunc');
    const path = join(p.world.directory, p.backup);
    truncateSync(path, Math.floor(readFileSync(path).length / 2));
    await restoreRefused(p, /truncated/);
  });

  it('manifest-less newest backup: listed untrusted, never chosen; the genuine one is restored', async () => {
    const p = await prepared('fx_nometa', PLAIN);
    const newest = newerName(p.backup);
    copyFileSync(join(p.world.directory, p.backup), join(p.world.directory, newest));
    await restoresGenuine(p, newest);
  });

  it('forged newest backup (other content, manifest copied from a genuine one): never restored', async () => {
    const p = await prepared('fx_forged', PLAIN);
    const newest = newerName(p.backup);
    const genuine = readFileSync(join(p.world.directory, p.backup), 'utf8');
    const forged = genuine.replace(/document 1\t/g, 'FORGED\t');
    expect(forged).not.toBe(genuine);
    writeFileSync(join(p.world.directory, newest), forged);
    // The genuine signed manifest, edited to name the forged file: its signature no longer covers it.
    const text = readFileSync(join(p.world.directory, manifestFileName(p.backup)), 'utf8');
    const envelope = JSON.parse(text) as { manifest: Record<string, unknown> };
    envelope.manifest.file = newest;
    envelope.manifest.sizeBytes = Buffer.byteLength(forged);
    envelope.manifest.sha256 = createHash('sha256').update(forged).digest('hex');
    writeFileSync(join(p.world.directory, manifestFileName(newest)), JSON.stringify(envelope));
    await restoresGenuine(p, newest);
    const { rows } = await adminQuery(`SELECT 1 FROM docs WHERE title = 'FORGED'`, [], p.world.db.name);
    expect(rows).toEqual([]);
  });

  it('psql failing halfway (an error after half of the data): the old data stays', async () => {
    const p = await prepared('fx_psql', PLAIN);
    // The dump still verifies (re-signed with the server's key): the failure happens inside psql, mid-restore.
    await rewriteBackup(
      p.world.directory,
      p.backup,
      (sql) => sql.replace(/\n\\\.\n/, '\n\\.\nSELECT 1/0;\n'),
      serverSigner(p.world),
    );
    const result = await p.world.client('database-backup', 'completely-restore');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/division by zero/);
    expect(result.stderr).toMatch(/was not touched/);
    expect(await p.world.fingerprint()).toBe(p.oldFp);
    await expectNothingLeft(p.world);
  });

  it('role without ownership of the database: refused up front, in the dry run too', async () => {
    const role = uniqueDatabaseName('fxrole');
    await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB NOSUPERUSER`);
    cleanups.push(() => adminQuery(`DROP ROLE IF EXISTS "${role}"`));
    world = await openCell('fx_owner');
    await adminQuery(
      `GRANT ALL ON SCHEMA public TO "${role}"; GRANT SELECT ON docs TO "${role}"`,
      [],
      world.db.name,
    );
    // The server runs as that role: it can migrate, back up and read, but it does not own the database.
    const url = new URL(world.dbUrl);
    url.username = role;
    world.dbUrl = url.toString();
    const configFor = world.config.bind(world);
    world.config = (extra = '') =>
      configFor(extra).replace(/^db_url = ".*"$/m, `db_url = "${url.toString()}"`);
    await world.start();
    const created = await world.client('database-backup', 'create');
    expect(created.exitCode, created.stderr).toBe(0);
    const before = await world.fingerprint();
    for (const args of [['--dry-run'], []]) {
      const result = await world.client('database-backup', 'completely-restore', ...args);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`the role '${role}' does not own the database`));
    }
    expect(world.server!.output()).not.toMatch(/into the scratch database/);
    expect(await world.fingerprint()).toBe(before);
    await expectNothingLeft(world);
  });
});

describe('requests during a restore', () => {
  /**
   * Makes the restore of the backup wait inside psql (after all data is in) while a role of the test's exists (a
   * catalog every database sees), then starts it without waiting: it waits for as long as the request made meanwhile
   * takes, however busy the machine (a fixed pg_sleep(4) did not always last that long). `release` drops the role;
   * the wait also ends by itself after 60 s.
   */
  async function slowRestore(
    p: Prepared,
  ): Promise<{ restore: Promise<ClientRun>; release: () => Promise<void> }> {
    const hold = uniqueDatabaseName('fx_hold');
    await adminQuery(`CREATE ROLE "${hold}" NOLOGIN`);
    const release = async () => void (await adminQuery(`DROP ROLE IF EXISTS "${hold}"`));
    cleanups.push(release);
    // One statement per tenth of a second: each sees the catalog anew (a single statement keeps its snapshot).
    const wait = `SELECT pg_sleep(0.1) WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${hold}');\n`;
    await rewriteBackup(p.world.directory, p.backup, (sql) => beforeCompletionMarker(sql, wait.repeat(600)));
    const restore = p.world.client('database-backup', 'completely-restore');
    let answered: string | undefined;
    void restore.then((r) => (answered = `${r.exitCode}: ${r.stdout}${r.stderr}`));
    await until('psql to be inside the scratch restore', async () => {
      const { rows } = await adminQuery(
        `SELECT 1 FROM pg_stat_activity WHERE datname LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active'`,
        [`${p.world.db.name}\\_restore\\_%`],
      );
      if (answered !== undefined) throw new Error(`the restore ended before psql ran: ${answered}`);
      return rows.length > 0 ? true : undefined;
    });
    return { restore, release };
  }

  it('create during restore: told a restore is running; the restore completes', async () => {
    const p = await prepared('fx_cdr', PLAIN);
    const { restore, release } = await slowRestore(p);
    const created = await p.world.client('database-backup', 'create');
    await release();
    expect(created.exitCode, created.stdout).toBe(1);
    expect(created.stderr).toMatch(/A backup or restore of database .* is already running/);
    const restored = await restore;
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await p.world.fingerprint()).toBe(p.backupFp);
    expect(backupFiles(p.world)).toEqual([p.backup]);
    await expectNothingLeft(p.world);
  });

  it('writes during a restore: refused while it runs (none accepted and then lost); the backup data after', async () => {
    const p = await prepared('fx_wdr', PLAIN);
    const { restore, release } = await slowRestore(p);
    const write = await p.world.client('user', 'request', 'late-writer@example.com');
    await release();
    expect(write.exitCode, write.stdout).toBe(1);
    expect(write.stderr).toMatch(/The server is in maintenance: a restore is preparing the new database/);
    const restored = await restore;
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await p.world.fingerprint()).toBe(p.backupFp);
    const { rows } = await adminQuery(
      `SELECT 1 FROM users WHERE name = 'late-writer@example.com'`,
      [],
      p.world.db.name,
    );
    expect(rows).toEqual([]);
    await expectNothingLeft(p.world);
  });
});
