// Fault matrix, backups: each cell causes the fault for real against the server process and PostgreSQL, then checks
// the content fingerprint, that the error names the cause, and that nothing is left behind.
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adminQuery,
  backupFiles,
  expectNothingLeft,
  openCell,
  startServer,
  until,
  type CellWorld,
} from './harness';

let world: CellWorld | undefined;
const mounts: string[] = [];
afterEach(async () => {
  for (const m of mounts.splice(0)) execFileSync('umount', [m]);
  await world?.close();
  world = undefined;
});
const asRoot = process.getuid?.() === 0;

function mount(directory: string, options: string): void {
  mkdirSync(directory, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', directory], { stdio: 'ignore' });
  mounts.push(directory);
}

describe('backup', () => {
  it('pg_dump killed (SIGKILL) mid-dump', async () => {
    world = await openCell('fx_kill');
    const server = await world.start();
    const before = await world.fingerprint();
    // pg_dump waits for this lock, which holds it still while it is killed.
    const locker = new pg.Client({ connectionString: world.db.url });
    await locker.connect();
    await locker.query('BEGIN; LOCK TABLE docs IN ACCESS EXCLUSIVE MODE');
    const created = world.client('database-backup', 'create');
    // Its session waits for the lock: the pg_dump that dumps (not the `pg_dump --version` run before it).
    await until('pg_dump to wait for the table lock', async () => {
      const { rows } = await adminQuery(
        `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'pg_dump' AND wait_event_type = 'Lock'`,
        [world!.db.name],
      );
      return rows.length > 0 ? true : undefined;
    });
    const pid = await until('pg_dump to run', async () => {
      try {
        return execFileSync('pgrep', ['-P', String(server.child.pid), '-x', 'pg_dump'], {
          encoding: 'utf8',
        }).trim();
      } catch {
        return undefined;
      }
    });
    process.kill(Number(pid), 'SIGKILL');
    await locker.query('ROLLBACK');
    await locker.end();
    const result = await created;
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/pg_dump was killed by signal SIGKILL/);
    expect(await world.fingerprint()).toBe(before);
    expect(backupFiles(world)).toEqual([]);
    await expectNothingLeft(world);
  });

  it.runIf(asRoot)('disk full (a 16 MiB tmpfs, the dump is larger)', async () => {
    world = await openCell('fx_full');
    // Compressible rows: small in the database (so the free-space check passes), about 40 MB as a plain dump.
    await adminQuery(
      `CREATE TABLE filler AS SELECT g AS id, repeat('sbom', 250000) AS body FROM generate_series(1, 40) g`,
      [],
      world.db.name,
    );
    mount(world.directory, 'size=16m');
    // Plain files: compressed, this dump would fit.
    await world.start('compression = "none"');
    const before = await world.fingerprint();
    const result = await world.client('database-backup', 'create');
    expect(result.exitCode).toBe(1);
    const figures = /No space left in .+: the unfinished dump had (\d+) bytes on disk/.exec(result.stderr);
    expect(figures, result.stderr).not.toBeNull();
    expect(Number(figures![1])).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(await world.fingerprint()).toBe(before);
    expect(backupFiles(world)).toEqual([]);
    await expectNothingLeft(world);
  });

  it('directory missing: created on the first backup; a restore says there is no backup', async () => {
    world = await openCell('fx_missing');
    await world.start();
    const before = await world.fingerprint();
    const restore = await world.client('database-backup', 'completely-restore');
    expect(restore.exitCode).toBe(1);
    expect(restore.stderr).toMatch(/no trusted backup of database/i);
    expect(await world.fingerprint()).toBe(before);
    const created = await world.client('database-backup', 'create');
    expect(created.exitCode, created.stderr).toBe(0);
    expect(backupFiles(world)).toHaveLength(1);
    await expectNothingLeft(world);
  });

  it.runIf(asRoot)('directory unwritable (a read-only file system)', async () => {
    world = await openCell('fx_ro');
    mount(world.directory, 'size=64k,ro');
    await world.start();
    const before = await world.fingerprint();
    const result = await world.client('database-backup', 'create');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/cannot be written: the file system is read-only/);
    expect(result.stderr).not.toMatch(/Not enough free space/);
    expect(await world.fingerprint()).toBe(before);
    await expectNothingLeft(world);
  });

  it('directory is a file: create, list and restore name it', async () => {
    world = await openCell('fx_file');
    mkdirSync(world.serverTmp, { recursive: true });
    writeFileSync(world.directory, 'not a directory');
    await world.start();
    const before = await world.fingerprint();
    for (const args of [['create'], ['list'], ['completely-restore']]) {
      const result = await world.client('database-backup', ...args);
      expect(result.exitCode, args[0]).toBe(1);
      expect(result.stderr, args[0]).toContain(
        `The backup directory ${world.directory} cannot be written: a part of the path is a file, not a directory.`,
      );
    }
    expect(world.server!.output()).not.toMatch(/INTERNAL|at .+\.ts:\d+/);
    expect(await world.fingerprint()).toBe(before);
    await expectNothingLeft(world);
  });

  it('20 concurrent creates: one backup, the others told it is busy', async () => {
    world = await openCell('fx_many');
    await world.start();
    const before = await world.fingerprint();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => world!.client('database-backup', 'create')),
    );
    // A create while one runs attaches to it (the same operation, the same answer) or is told it is busy.
    const ok = results.filter((r) => r.exitCode === 0);
    const busy = results.filter((r) => /is already running/.test(r.stderr));
    expect(ok.length + busy.length).toBe(20);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const stored = new Set(
      ok.map((r) => /Successfully stored database backup under '([^']+)'/.exec(r.stdout)?.[1]),
    );
    expect(stored.has(undefined)).toBe(false);
    expect(backupFiles(world).map((f) => join(world!.directory, f))).toEqual([...stored].sort());
    expect(await world.fingerprint()).toBe(before);
    await expectNothingLeft(world);
  });

  it('database unreachable at start: the server says so and writes nothing', async () => {
    world = await openCell('fx_unreach');
    // Whatever port the run's PostgreSQL has (5432, or a PGTEST_CLUSTER=defaults cluster's): port 1 takes nothing.
    const config = world.config().replace(/@(127\.0\.0\.1|localhost):\d+\//, '@127.0.0.1:1/');
    expect(config).toContain('@127.0.0.1:1/');
    const path = `${world.home}/config.toml`;
    writeFileSync(path, config);
    const server = startServer(path, { TMPDIR: world.serverTmp, BOMNIPOTENT_DB_WAIT_TIMEOUT: '1' });
    world.server = server;
    const code = await new Promise<number | null>((resolve) => server.child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(server.output()).toMatch(/127\.0\.0\.1:1/);
    expect(server.output()).toMatch(/could not connect|unreachable|ECONNREFUSED|not reachable/i);
    expect(server.output()).not.toContain('fault-matrix-password');
    expect(backupFiles(world)).toEqual([]);
    await expectNothingLeft(world);
  });
});
