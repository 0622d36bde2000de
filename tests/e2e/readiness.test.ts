// The real server when it cannot back up: one clear line at start, GET /ready 503 naming why (and 200 once it can),
// /health still the liveness answer; the signing key from BOMNIPOTENT_SIGNING_KEY; SIGTERM in the middle of a dump.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { startListening, startServer, writeConfig, type ServerProcess } from '../support/server-process';
import { until } from '../support/until';

interface Ready {
  status: number;
  body: { status: string; reasons: string[] };
}

async function ready(server: ServerProcess): Promise<Ready> {
  const response = await fetch(`${server.url}/ready`);
  return { status: response.status, body: (await response.json()) as Ready['body'] };
}

async function healthStatus(server: ServerProcess): Promise<number> {
  return (await fetch(`${server.url}/health`)).status;
}

const asRoot = process.getuid?.() === 0;

/** A read-only file system at `dir` holding `files` (a real one as root; else the test is skipped by the caller). */
function readOnlyDirectory(dir: string, files: Record<string, string>): () => void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'ignore' });
  return () => execFileSync('umount', [dir], { stdio: 'ignore' });
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  return port;
}

describe('readiness of the real server', () => {
  let db: TestDatabase;
  let root: string;
  const running: ServerProcess[] = [];
  const start = async (config: string, env: NodeJS.ProcessEnv = {}) => {
    const server = await startListening(config, env);
    running.push(server);
    return server;
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_ready');
    root = mkdtempSync(join(tmpdir(), 'bomnipotent-ready-'));
  });
  afterAll(async () => {
    for (const server of running) await server.stop();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
  });

  const backupTask = (directory: string, extra = '') => `
db_url = "${db.url}"
http_port = 0
[[tasks]]
name = "database_backup"
directory = "${directory}"
${extra}
`;

  it.runIf(asRoot)(
    'config on a read-only mount without signing_key: one line at start, /ready 503 naming the key, /health 200; BOMNIPOTENT_SIGNING_KEY in a writable volume makes it ready',
    async () => {
      const configDir = join(root, 'ro-config');
      const backups = join(root, 'ro-backups');
      const unmount = readOnlyDirectory(configDir, { 'config.toml': backupTask(backups) });
      try {
        const config = join(configDir, 'config.toml');
        const server = await start(config);
        const line = await server.waitFor(/\[ERROR\] Backups cannot run: .*/);
        expect(line[0]).toContain(
          `The backup-signing key ${configDir}/backup-signing-key.pem cannot be used: it cannot be created (the file system is read-only).`,
        );
        expect(line[0]).toContain('BOMNIPOTENT_SIGNING_KEY');
        expect(line[0]).toContain('GET /ready answers 503 until this is fixed.');
        expect(server.output().match(/Backups cannot run/g)).toHaveLength(1);
        const answer = await ready(server);
        expect(answer.status).toBe(503);
        expect(answer.body.status).toBe('not ready');
        expect(answer.body.reasons).toHaveLength(1);
        expect(answer.body.reasons[0]).toContain('cannot be created (the file system is read-only)');
        expect(await healthStatus(server)).toBe(200);
        // The scheduled backup at start was refused: nothing was written.
        await server.waitFor(/Task 'database_backup' failed/);
        expect((existsSync(backups) ? readdirSync(backups) : []).filter((f) => /\.dump/.test(f))).toEqual([]);
        await server.stop();

        const keyFile = join(root, 'keys-volume', 'keys', 'backup-signing-key.pem');
        const fixed = await start(config, { BOMNIPOTENT_SIGNING_KEY: keyFile });
        await fixed.waitFor(/\[INFO\] Ready: backups can run into /);
        expect(fixed.output()).not.toContain('[ERROR]');
        expect(await ready(fixed)).toEqual({
          status: 200,
          body: { status: 'ready', reasons: [], warnings: expect.any(Array) as unknown },
        });
        expect(statSync(keyFile).mode & 0o777).toBe(0o600);
        await fixed.waitFor(/Stored database backup/i);
        expect(readdirSync(backups).filter((f) => /\.dump\.zst$/.test(f))).toHaveLength(1);
        await fixed.stop();
      } finally {
        unmount();
      }
    },
  );

  it.runIf(asRoot)('a read-only backup volume: /ready names the directory', async () => {
    const backups = join(root, 'ro-volume');
    const unmount = readOnlyDirectory(backups, {});
    try {
      const server = await start(writeConfig(backupTask(backups)));
      await server.waitFor(/\[ERROR\] Backups cannot run: .*/);
      const answer = await ready(server);
      expect(answer.status).toBe(503);
      expect(answer.body.reasons).toEqual([
        expect.stringContaining(
          `The backup directory ${backups} cannot be written: the file system is read-only.`,
        ),
      ]);
      await server.stop();
    } finally {
      unmount();
    }
  });

  it('the database not reachable at start: bound at once, /ready 503 naming it, the rest SERVER.STARTING', async () => {
    const config = writeConfig(
      `db_url = "postgres://root@127.0.0.1:${await closedPort()}/${db.name}"\nhttp_port = 0\n` +
        `[[tasks]]\nname = "database_backup"\ndirectory = "${join(root, 'never')}"\n`,
    );
    const server = startServer(config, { BOMNIPOTENT_DB_WAIT_TIMEOUT: '120' });
    running.push(server);
    const url = (
      await server.waitFor(/Bound (http:\/\/\S+:\d+); it answers 503 \(GET \/ready says why\)/)
    )[1]!;
    const answer = await fetch(`${url}/ready`);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({
      status: 'not ready',
      reasons: [
        expect.stringContaining('The database is not reachable yet: the server is waiting for it at start'),
      ],
      warnings: [],
    });
    const other = await fetch(`${url}/database-backups`);
    expect(other.status).toBe(503);
    expect(other.headers.get('retry-after')).toBe('1');
    expect(((await other.json()) as { code: string }).code).toBe('SERVER.STARTING');
    expect(server.output()).toContain('Database not ready (attempt 1');
    expect(server.output()).not.toContain('Listening on');
    expect(await server.stop()).toBe(0);
  });

  it('zstd missing while compression is zstd: named at start and in /ready; gzip needs no tool', async () => {
    // PATH without zstd; the PostgreSQL tools still come from /usr/lib/postgresql/<major>/bin.
    const env = { PATH: join(root, 'empty-path') };
    const server = await start(writeConfig(backupTask(join(root, 'b-zstd'))), env);
    const line = await server.waitFor(/\[ERROR\] Backups cannot run: .*/);
    expect(line[0]).toContain('zstd was not found, and compression is "zstd": install zstd');
    expect((await ready(server)).body.reasons).toEqual([expect.stringMatching(/^zstd was not found/)]);
    await server.stop();

    const gzip = await start(writeConfig(backupTask(join(root, 'b-gzip'), 'compression = "gzip"')), env);
    await gzip.waitFor(/\[INFO\] Ready: backups can run/);
    expect((await ready(gzip)).status).toBe(200);
    await gzip.stop();
  });

  it('the executor sidecar does not answer: named at start and in /ready', async () => {
    const port = await closedPort();
    const server = await start(
      writeConfig(
        backupTask(
          join(root, 'b-sidecar'),
          `executor = "sidecar"\nexecutor_url = "http://127.0.0.1:${port}"\nexecutor_token = "a-token-of-enough-length"`,
        ),
      ),
      { BOMNIPOTENT_SIGNING_KEY: join(root, 'sidecar-key', 'key.pem') },
    );
    const line = await server.waitFor(/\[ERROR\] Backups cannot run: .*/);
    expect(line[0]).toContain(`http://127.0.0.1:${port}`);
    const answer = await ready(server);
    expect(answer.status).toBe(503);
    expect(answer.body.reasons).toHaveLength(1);
    expect(answer.body.reasons[0]).toMatch(/executor sidecar at http:\/\/127\.0\.0\.1:\d+.*did not answer/i);
    expect(answer.body.reasons[0]).not.toContain('a-token-of-enough-length');
    await server.stop();
  });

  it('SIGTERM in the middle of a dump: the dump stops, no partial file stays, exit 0', async () => {
    // pg_dump waits for a lock another session holds: the dump has begun its file and cannot finish.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    const backups = join(root, 'b-sigterm');
    try {
      await blocker.query('CREATE TABLE IF NOT EXISTS sigterm_blocker (id int)');
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE sigterm_blocker IN ACCESS EXCLUSIVE MODE');
      const server = await start(writeConfig(backupTask(backups)), {
        BOMNIPOTENT_SIGNING_KEY: join(root, 'sigterm-key', 'key.pem'),
      });
      await until('the partial dump file', async () =>
        existsSync(backups) && readdirSync(backups).some((f) => f.endsWith('.partial')) ? true : undefined,
      );
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(readdirSync(backups).filter((f) => /\.partial$|\.dump/.test(f))).toEqual([]);
      expect(server.output()).toMatch(/cancelled before it finished; nothing was kept/);
    } finally {
      await blocker.query('ROLLBACK').catch(() => {});
      await blocker.end();
    }
  });
});
