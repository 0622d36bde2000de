// Hot reload on a running server: a task that becomes scheduled runs at once; a broken edit keeps the old config.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tearDown } from '../support/teardown';
import { createTestDatabase, type TestDatabase } from '../support/pg';
import { runClient, startListening, writeConfig, type ServerProcess } from '../support/server-process';

describe('hot reload', () => {
  let db: TestDatabase;
  let server: ServerProcess | undefined;
  const backups = mkdtempSync(join(tmpdir(), 'bomnipotent-reload-'));
  const dumps = () => readdirSync(backups).filter((f) => /\.dump(\.zst|\.gz)?$/.test(f));

  beforeAll(async () => {
    db = await createTestDatabase('e2e_reload');
  });
  afterAll(() => tearDown({ stop: [server], db }));

  it('runs a newly scheduled backup task at once, and survives a broken edit', async () => {
    const task = (scheduled: boolean) =>
      `db_url = "${db.url}"\nhttp_port = 0\n[[tasks]]\nname = "database_backup"\ndirectory = "${backups}"\nscheduled = ${scheduled}\n`;
    const path = writeConfig(task(false));
    server = await startListening(path);
    await new Promise((r) => setTimeout(r, 500));
    expect(dumps()).toHaveLength(0);

    writeFileSync(path, task(true));
    await server.waitFor(/Configuration successfully reloaded from ".*config\.toml"/);
    await server.waitFor(/Stored database backup/, 30_000);
    expect(dumps()).toHaveLength(1);

    writeFileSync(path, task(true) + 'periode = "1 day"\n[log\n');
    await server.waitFor(
      /\[ERROR\] Failed to reload configuration from ".*config\.toml": .*The previous configuration stays in force\./,
    );
    const health = await runClient(['--domain', server.url, 'health']);
    expect(health.stdout).toBe(`[INFO] The service at ${server.url} is healthy.\n`);
  });
});
