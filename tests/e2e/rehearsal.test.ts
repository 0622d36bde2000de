// Rehearsals as an administrator meets them: a server with `rehearse = true`, real client processes, real
// PostgreSQL. Every backup is rehearsed in the background, `list` and `/metrics` show it, `rehearse` runs one by
// hand, and `completely-restore` swaps the rehearsed standby in (its dry run says so first).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  runClient,
  startListening,
  writeConfig,
  type ServerProcess,
  waitForReloads,
} from '../support/server-process';

const ADMIN = 'admin@example.com';

describe('rehearsals through the server and the client', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let configPath: string;
  let baseConfig: string;
  const backups = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-rh-'));
  const adminHome = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-rh-admin-'));
  const asAdmin = (...args: string[]) =>
    runClient(['-d', server.url, '-u', ADMIN, ...args], { XDG_CONFIG_HOME: adminHome });
  const titles = async () =>
    (await adminQuery<{ title: string }>('SELECT title FROM docs ORDER BY id', [], db.name)).rows.map(
      (r) => r.title,
    );
  const reloaded = async (text: string, count: number) => {
    writeFileSync(configPath, text);
    await waitForReloads(server, count);
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_rh');
    baseConfig =
      `db_url = "${db.url}"\nhttp_port = 0\n[[tasks]]\nname = "database_backup"\n` +
      `directory = "${backups}"\nrehearse = true\n`;
    configPath = writeConfig(baseConfig);
    server = await startListening(configPath);
    // The scheduled run at start, then its rehearsal in the background.
    await server.waitFor(/Rehearsal of backup '[^']+' passed/, 60_000);
    expect(
      (await runClient(['-d', server.url, 'user', 'request', ADMIN], { XDG_CONFIG_HOME: adminHome })).code,
    ).toBe(0);
    await reloaded(baseConfig + `[user]\ntmp_admin = "${ADMIN}"\n`, 1);
    expect((await asAdmin('user', 'approve', ADMIN)).code).toBe(0);
    expect((await asAdmin('user-role', 'add', ADMIN, 'admin')).code).toBe(0);
    await reloaded(baseConfig, 2);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await db.drop();
  });

  it('rehearses a new backup in the background; list shows it and the standby, metrics export it', async () => {
    await adminQuery('CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL)', [], db.name);
    await adminQuery(`INSERT INTO docs (title) VALUES ('sbom-1'), ('csaf-1')`, [], db.name);
    const created = await asAdmin('-o', 'raw', 'database-backup', 'create');
    const { file } = JSON.parse(created.stdout) as { file: string };
    await server.waitFor(new RegExp(`Rehearsal of backup '${file}' passed`), 60_000);

    const raw = JSON.parse((await asAdmin('-o', 'raw', 'database-backup', 'list')).stdout) as {
      backups: { file: string; rehearsal: { state: string } | null }[];
    };
    expect(raw.backups.find((b) => b.file === file)?.rehearsal).toMatchObject({ state: 'passed' });
    const table = (await asAdmin('database-backup', 'list')).stdout;
    expect(table).toContain('REHEARSED');
    expect(table).toMatch(
      new RegExp(`Standby database '${db.name}_standby' \\([\\d.]+ [KMG]?B, one more copy`),
    );

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^bomnipotent_backup_last_rehearsal_success_timestamp_seconds \d+/m);
    expect(metrics).toContain('bomnipotent_backup_rehearsal_failures_total 0');
  });

  it('rehearse runs one by hand; completely-restore swaps the standby in, after a dry run that says so', async () => {
    const rehearsed = await asAdmin('database-backup', 'rehearse');
    expect(rehearsed.stdout).toMatch(
      new RegExp(
        `^\\[INFO\\] Rehearsal of '.+' passed: \\d+ tables, \\d+ rows restored in [\\d.]+ s\\. The standby database '${db.name}_standby' holds it`,
      ),
    );
    await adminQuery(`INSERT INTO docs (title) VALUES ('added-later')`, [], db.name);

    const dry = await asAdmin('database-backup', 'completely-restore', '--dry-run');
    expect(dry.stdout).toContain('It would be restored from the rehearsed standby database:');

    const restored = await asAdmin('database-backup', 'completely-restore');
    expect(restored.stdout).toMatch(/^\[INFO\] Successfully restored database from backup '.+'\.\n/);
    expect(restored.stdout).toContain('Restored from the rehearsed standby database:');
    expect(await titles()).toEqual(['sbom-1', 'csaf-1']);
    expect((await asAdmin('whoami')).code).toBe(0);
    // The standby became the database: a background rehearsal rebuilds it.
    await server.waitFor(
      /Rehearsal of backup '[^']+' passed[\s\S]*Restored database[\s\S]*Rehearsal of backup '[^']+' passed/,
      60_000,
    );
  });
});
