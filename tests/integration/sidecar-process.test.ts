// The executor sidecar as its own process (bin/bomnipotent_executor.js) against the real PostgreSQL and pg tools.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import type { BackupMetadataSeed } from '../../handlers/backup/model';
import { createSidecarExecutor } from '../../runtime/sidecar/client';
import { makeToolDirectory, pgDumpStartsThenHangs } from '../support/fake-tools/index';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import { runSidecarUntilExit, startSidecarProcess, type SidecarProcess } from '../support/sidecar-process';
import { backupSeed } from '../support/backup-seed';
import { dumpNamed, EXECUTOR_TRUST } from '../support/backup-signer';
import { rejection } from '../support/rejection';

let db: TestDatabase;
let serverVersion: string;

function seedFor(database: string): BackupMetadataSeed {
  return backupSeed(database, { serverVersion });
}

function fileAt(database: string, second: number): string {
  return `${database}_20260111_1030${String(second).padStart(2, '0')}.dump`;
}

const caught = rejection;

function freshDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'bomnipotent-sidecar-'));
}

/** A sidecar (the real tools) serving a fresh directory of its own. */
async function sidecarOnFreshDirectory(): Promise<{ sidecar: SidecarProcess; directory: string }> {
  const directory = freshDirectory();
  return { sidecar: await startSidecarProcess({ dbUrl: db.url, directory }), directory };
}

/** A sidecar on a fresh directory whose pg_dump leaves `marker` and hangs, its client; removeFiles() cleans up. */
async function slowDumpSidecar() {
  const directory = freshDirectory();
  const marker = join(directory, '..', `${directory.split('/').pop()}.started`);
  const tools = slowPgDumpTools(marker);
  const sidecar = await startSidecarProcess({ dbUrl: db.url, directory, toolDirectory: tools });
  const removeFiles = () => {
    rmSync(directory, { recursive: true, force: true });
    rmSync(tools, { recursive: true, force: true });
    rmSync(marker, { force: true });
  };
  const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
  return { directory, marker, sidecar, executor, removeFiles };
}

/** A pg_dump that writes the start of a dump, leaves a marker, then sleeps: a dump caught halfway. */
function slowPgDumpTools(marker: string): string {
  return makeToolDirectory({ pg_dump: pgDumpStartsThenHangs(marker) });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  db = await createTestDatabase('sidecar');
  await adminQuery(
    `CREATE TABLE things (id int PRIMARY KEY, name text); INSERT INTO things SELECT g, 'thing ' || g FROM generate_series(1, 500) g`,
    [],
    db.name,
  );
  const { rows } = await adminQuery<{ server_version: string }>('SHOW server_version');
  serverVersion = rows[0]!.server_version.split(' ')[0]!;
});

afterAll(async () => {
  await db?.drop();
});

describe('executor sidecar process: refusals', () => {
  let sidecar: SidecarProcess;
  let directory: string;

  beforeAll(async () => ({ sidecar, directory } = await sidecarOnFreshDirectory()));
  afterAll(() => tearDown({ stop: [sidecar], dirs: [directory] }));

  const post = (path: string, body: unknown, token?: string) =>
    fetch(sidecar.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('prints its address on stdout and listens on loopback', () => {
    expect(sidecar.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 401 to a missing or wrong token and runs nothing: no file, no audit line', async () => {
    const file = fileAt(db.name, 1);
    expect((await post('/v1/dump', { directory, file, seed: seedFor(db.name) })).status).toBe(401);
    expect((await post('/v1/dump', { directory, file, seed: seedFor(db.name) }, 'x'.repeat(48))).status).toBe(
      401,
    );
    const record = {
      at: new Date().toISOString(),
      action: 'backup',
      outcome: 'succeeded',
      user: null,
      trigger: 'manual',
      file,
      message: 'forged',
    };
    expect((await post('/v1/audit', { directory, record }, `${sidecar.token}0`)).status).toBe(401);
    expect(readdirSync(directory)).toEqual([]);
    expect(sidecar.output()).not.toContain(sidecar.token);
  });

  it('answers 404 to anything but its operations', async () => {
    expect((await fetch(`${sidecar.url}/`)).status).toBe(404);
    expect((await post('/v1/exec', { command: 'id' }, sidecar.token)).status).toBe(404);
    expect((await post('/v1/../../etc/passwd', {}, sidecar.token)).status).toBe(404);
    expect((await fetch(`${sidecar.url}/health`)).status).toBe(200);
  });

  it('refuses paths outside its directory and names that are not backups', async () => {
    const trust = EXECUTOR_TRUST;
    expect((await post('/v1/list', { directory: '/etc', trust }, sidecar.token)).status).toBe(403);
    expect((await post('/v1/list', { directory: join(directory, '..'), trust }, sidecar.token)).status).toBe(
      403,
    );
    expect((await post('/v1/remove', { directory, file: '../../../etc/passwd' }, sidecar.token)).status).toBe(
      400,
    );
    const verify = await post(
      '/v1/verify',
      { directory, file: '../../../etc/passwd', options: trust },
      sidecar.token,
    );
    expect(await verify.text()).toContain('"ok":false');
    const restore = { directory, file: fileAt(db.name, 1), targetDatabase: 'postgres', read: EXECUTOR_TRUST };
    expect((await post('/v1/restore', restore, sidecar.token)).status).toBe(403);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses to start without a token of at least 16 characters, and does not print it', async () => {
    const base = {
      BOMNIPOTENT_EXECUTOR_DB_URL: db.url,
      BOMNIPOTENT_EXECUTOR_DIRECTORY: directory,
      BOMNIPOTENT_EXECUTOR_PORT: '0',
    };
    const none = await runSidecarUntilExit(base);
    expect(none.code).toBe(2);
    expect(none.output).toContain('BOMNIPOTENT_EXECUTOR_TOKEN');
    const short = await runSidecarUntilExit({ ...base, BOMNIPOTENT_EXECUTOR_TOKEN: 'shortsecret123' });
    expect(short.code).toBe(2);
    expect(short.output).toContain('at least 16');
    expect(short.output).not.toContain('shortsecret123');
  });
});

describe('executor sidecar process: dump and restore through the client', () => {
  let sidecar: SidecarProcess;
  let directory: string;

  beforeAll(async () => ({ sidecar, directory } = await sidecarOnFreshDirectory()));
  afterAll(() => tearDown({ stop: [sidecar], dirs: [directory] }));

  it('dumps: the file and its metadata are there, list shows it and verify accepts it', async () => {
    const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
    const report = await executor.probe(Number.parseInt(serverVersion, 10));
    expect(report.pgDumpPath).not.toBeNull();
    const file = fileAt(db.name, 2);
    const metadata = await dumpNamed(executor, { directory, file, seed: seedFor(db.name) });
    expect(metadata).toMatchObject({ file, database: db.name, trigger: 'manual' });
    expect(metadata.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(existsSync(join(directory, file))).toBe(true);
    expect(existsSync(join(directory, `${file}.manifest.json`))).toBe(true);
    const entries = await executor.list({ directory, trust: EXECUTOR_TRUST });
    expect(entries.map((e) => e.file)).toEqual([file]);
    expect(entries[0]!.manifest?.sha256).toBe(metadata.sha256);
    expect(await executor.verify(directory, file, EXECUTOR_TRUST)).toMatchObject({ ok: true });
    expect(await executor.freeBytes(directory)).toBeGreaterThan(0);
  });

  it('restores a dump into a scratch database', async () => {
    const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
    const file = fileAt(db.name, 3);
    await dumpNamed(executor, { directory, file, seed: seedFor(db.name) });
    const target = `${db.name}_restore_1`;
    await executor.restore({ directory, file, targetDatabase: target, read: EXECUTOR_TRUST });
    const { rows } = await adminQuery<{ n: string }>('SELECT count(*) AS n FROM things', [], target);
    expect(Number(rows[0]!.n)).toBe(500);
  });

  it('reports the executor errors unchanged: restoring into an existing database', async () => {
    const executor = createSidecarExecutor({ url: sidecar.url, token: sidecar.token });
    const file = fileAt(db.name, 4);
    await dumpNamed(executor, { directory, file, seed: seedFor(db.name) });
    const target = `${db.name}_restore_2`;
    await adminQuery(`CREATE DATABASE "${target}"`);
    const error = await caught(
      executor.restore({ directory, file, targetDatabase: target, read: EXECUTOR_TRUST }),
    );
    expect(error.code).toBe('EXECUTOR.TARGET_EXISTS');
    expect(error.message).toContain(target);
  });
});

describe('executor sidecar process: dying and stopping halfway', () => {
  it('SIGKILL during a dump: the client gets EXECUTOR.SIDECAR_UNREACHABLE and no backup is listed after a restart', async () => {
    const { directory, marker, sidecar, executor, removeFiles } = await slowDumpSidecar();
    const file = fileAt(db.name, 5);
    try {
      const pending = caught(dumpNamed(executor, { directory, file, seed: seedFor(db.name) }));
      await waitFor(() => existsSync(marker), 'the fake pg_dump to start writing');
      expect(readdirSync(directory)).toContain(`.${file}.partial`);
      await sidecar.kill();
      const error = await pending;
      expect([error.code, error.kind]).toEqual(['EXECUTOR.SIDECAR_UNREACHABLE', 'unavailable']);
      expect(error.message).toContain('stopped answering during the dump');
      expect(error.message).not.toContain(sidecar.token);
    } finally {
      await sidecar.kill();
    }

    const restarted = await startSidecarProcess({ dbUrl: db.url, directory });
    try {
      const executor = createSidecarExecutor({ url: restarted.url, token: restarted.token });
      expect(await executor.list({ directory, trust: EXECUTOR_TRUST })).toEqual([]);
      // The next dump sweeps what the killed one left behind.
      const next = fileAt(db.name, 6);
      await dumpNamed(executor, { directory, file: next, seed: seedFor(db.name) });
      expect((await executor.list({ directory, trust: EXECUTOR_TRUST })).map((e) => e.file)).toEqual([next]);
      expect(readdirSync(directory).filter((name) => name.endsWith('.partial'))).toEqual([]);
    } finally {
      await restarted.stop();
      removeFiles();
    }
  });

  it('SIGTERM during a dump: the dump is cancelled cleanly, nothing is left, the process exits 0', async () => {
    const { directory, marker, sidecar, executor, removeFiles } = await slowDumpSidecar();
    try {
      const pending = caught(
        dumpNamed(executor, { directory, file: fileAt(db.name, 7), seed: seedFor(db.name) }),
      );
      await waitFor(() => existsSync(marker), 'the fake pg_dump to start writing');
      const code = await sidecar.stop();
      const error = await pending;
      expect(error.code).toBe('EXECUTOR.CANCELLED');
      expect(code).toBe(0);
      expect(readdirSync(directory)).toEqual([]);
    } finally {
      await sidecar.kill();
      removeFiles();
    }
  });

  it('a client that gives up aborts the dump in the sidecar, which removes its partial file', async () => {
    const { directory, marker, sidecar, executor, removeFiles } = await slowDumpSidecar();
    try {
      const controller = new AbortController();
      const pending = caught(
        dumpNamed(executor, {
          directory,
          file: fileAt(db.name, 8),
          seed: seedFor(db.name),
          signal: controller.signal,
        }),
      );
      await waitFor(() => existsSync(marker), 'the fake pg_dump to start writing');
      controller.abort();
      expect((await pending).code).toBe('EXECUTOR.CANCELLED');
      await waitFor(() => readdirSync(directory).length === 0, 'the sidecar to remove the partial file');
    } finally {
      await sidecar.stop();
      removeFiles();
    }
  });
});
