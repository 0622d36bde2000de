// The README's quick start: the example config on the embedded PostgreSQL, with no database set-up at all.
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from '../support/free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO, runClient, startListening, type ServerProcess } from '../support/server-process';

describe('quick start on the embedded PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-quick-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must reach its data directory
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts from examples/config.toml with only ports changed, backs up at once, and is healthy', async () => {
    // The example config as shipped, moved into a scratch folder with free ports, so that the test leaves nothing behind.
    cpSync(join(REPO, 'examples'), join(dir, 'examples'), { recursive: true });
    const configPath = join(dir, 'examples', 'config.toml');
    const text = readFileSync(configPath, 'utf8')
      .replace(/^http_port = \d+$/m, 'http_port = 0')
      .replace(/^port = 5433$/m, `port = ${await freePort()}`);
    writeFileSync(configPath, text);
    chmodSync(configPath, 0o644);

    server = await startListening(configPath, { BOMNIPOTENT_DB_WAIT_TIMEOUT: '30' });
    const start = server.output();
    expect(start).toContain('Embedded PostgreSQL is running');
    // The database the server will use, not the maintenance database it knocks at first.
    expect(start).toMatch(/ embedded PostgreSQL in "[^"]+" on port \d+, database bomnipotent;/);
    expect(start).toMatch(
      /\[INFO\] Connecting to the database at postgres:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:\d+\/bomnipotent /,
    );
    // The example config as shipped (mode 644 from a checkout) needs no warning on every start.
    expect(start).not.toContain('[WARN]');
    const health = await runClient(['--domain', server.url, 'health']);
    expect(health.stdout).toBe(`[INFO] The service at ${server.url} is healthy.\n`);

    await server.waitFor(/Stored database backup/i, 60_000);
    expect(
      readdirSync(join(dir, 'backups')).some((f) => /^bomnipotent_\d{8}_\d{6}\.dump\.zst$/.test(f)),
    ).toBe(true);

    expect(await server.stop('SIGTERM')).toBe(0);
    server = undefined;
  }, 180_000);
});
