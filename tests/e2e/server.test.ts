// The real bomnipotent_server process: start-up, health through the real client, bad start-ups, shutdown.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { spawnSync } from 'node:child_process';
import {
  runClient,
  SERVER_BIN,
  startListening,
  startServer,
  writeConfig,
  type ServerProcess,
} from '../support/server-process';

describe('bomnipotent_server process', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  let backups: string;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_srv');
    backups = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-backups-'));
  });
  afterAll(() => tearDown({ stop: [server], db }));

  it('starts on its config, waits for the database, backs up at once and answers health', async () => {
    const withPassword = db.url.replace('postgres://root@', 'postgres://root:s3cr3t-pw@');
    const config = writeConfig(`
db_url = "${withPassword}"
http_port = 0
[[tasks]]
name = "database_backup"
directory = "${backups}"
`);
    server = await startListening(config);
    const out = server.output();
    // The database the server will use, not the maintenance database it connects to first.
    expect(out).toContain(
      `[INFO] Connecting to the database at postgres://***:***@127.0.0.1:5432/${db.name} (through its maintenance database 'postgres' first).`,
    );
    expect(out).toContain('[INFO] Database is ready.');
    // No `domain` in this config: said once, with the fix.
    expect(out.match(/\[WARN\] No `domain` is set: .*Set domain to the URL clients use/g)).toHaveLength(1);
    expect(out).not.toContain('s3cr3t-pw');
    expect(out).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00 \[INFO\] /m);

    const health = await runClient(['--domain', server.url, 'health']);
    expect(health.stdout).toBe(`[INFO] The service at ${server.url} is healthy.\n`);
    expect(health.code).toBe(0);
    const code = await runClient(['--domain', server.url, '-o', 'code', 'health']);
    expect(code.stdout).toBe('200');

    // the scheduled task runs once as soon as the database is ready
    await server.waitFor(/Stored database backup/i, 30_000);
    expect(readdirSync(backups).filter((f) => /\.dump(\.zst|\.gz)?$/.test(f))).toHaveLength(1);
  });

  it('exits 0 on SIGTERM', async () => {
    expect(await server!.stop('SIGTERM')).toBe(0);
    server = undefined;
  });

  it('a configured signing key that is missing is an error at start, and no backup is written unsigned', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-nokey-'));
    const missing = join(dir, 'keys', 'backup-signing-key.pem');
    const config = writeConfig(`
db_url = "${db.url}"
http_port = 0
[[tasks]]
name = "database_backup"
directory = "${join(dir, 'backups')}"
signing_key = "${missing}"
`);
    const started = await startListening(config);
    try {
      await started.waitFor(/Backups cannot run: /, 30_000);
      expect(started.output()).toMatch(
        /\[ERROR\] Backups cannot run: The backup-signing key .*backup-signing-key\.pem cannot be used: the file does not exist\./,
      );
      // The scheduled run at start fails instead of writing an unsigned file.
      await started.waitFor(/database_backup/i, 30_000);
      const written = existsSync(join(dir, 'backups')) ? readdirSync(join(dir, 'backups')) : [];
      expect(written.filter((f) => /\.dump/.test(f))).toEqual([]);
      expect(existsSync(missing)).toBe(false); // a configured key is never generated behind the admin's back
    } finally {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('both programs print their version', async () => {
    const { APP_VERSION } = await import('../../handlers/version');
    const client = await runClient(['--version']);
    expect(client.stdout).toBe(`${APP_VERSION}\n`);
    const server = spawnSync(process.execPath, [SERVER_BIN, '--version'], { encoding: 'utf8' });
    expect(server.stdout).toBe(`bomnipotent_server ${APP_VERSION}\n`);
  });

  it('refuses to start on an unknown config key, naming it', async () => {
    const proc = startServer(writeConfig(`http_port = 0\nhttp_prot = 8080\n`));
    expect(await proc.stop('SIGCONT')).toBe(1);
    expect(proc.output()).toMatch(/\[ERROR\].*http_prot/);
  });

  it('refuses to start when the database does not exist, saying what to do', async () => {
    const missing = db.url.replace(/\/[^/]+$/, '/no_such_database_here');
    const proc = startServer(writeConfig(`db_url = "${missing}"\nhttp_port = 0\n`));
    expect(await proc.stop('SIGCONT')).toBe(1);
    expect(proc.output()).toMatch(/\[ERROR\].*(does not exist|create it)/);
  });

  it('refuses to start when the database is unreachable, after waiting', async () => {
    const proc = startServer(writeConfig(`db_url = "postgres://root@127.0.0.1:1/x"\nhttp_port = 0\n`), {
      BOMNIPOTENT_DB_WAIT_TIMEOUT: '1',
    });
    expect(await proc.stop('SIGCONT')).toBe(1);
    expect(proc.output()).toMatch(
      /\[ERROR\] The database at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/postgres is not reachable/,
    );
  });

  it('refuses to start when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '0.0.0.0', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const proc = startServer(writeConfig(`db_url = "${db.url}"\nhttp_port = ${port}\n`));
      expect(await proc.stop('SIGCONT')).toBe(1);
      expect(proc.output()).toContain(`Port ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });
});
