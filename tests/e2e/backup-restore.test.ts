// The whole product as an administrator meets it: server process, real client processes, real PostgreSQL.
// Bootstrap the first admin via tmp_admin (hot reload), back up, list, change data, restore, and a non-admin refused.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/pg';
import { runClient } from '../support/server-process';
import { ADMIN, startE2eWorld, tmpAdminLine, type E2eWorld } from '../support/e2e-world';

const USER = 'reader@example.com';

describe('backup and restore through the client', () => {
  let world: E2eWorld;
  let backups: string;
  const userHome = mkdtempSync(join(tmpdir(), 'bomnipotent-e2e-user-'));
  const asAdmin = (...args: string[]) => world.asAdmin(...args);
  const docs = () => world.titles();

  beforeAll(async () => {
    // The scheduled run at start.
    world = await startE2eWorld({
      prefix: 'br',
      ready: { line: /Stored database backup/, timeoutMs: 30_000 },
    });
    backups = world.backups;
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('bootstraps the first admin through tmp_admin and a hot reload', async () => {
    const requested = await runClient(['-d', world.server.url, 'user', 'request', ADMIN], {
      XDG_CONFIG_HOME: world.adminHome,
    });
    expect(requested.code).toBe(0);
    await world.reloaded(world.baseConfig + `[user]\n${tmpAdminLine(requested.stdout)}\n`, 1);
    expect((await asAdmin('user', 'approve', ADMIN)).code).toBe(0);
    expect((await asAdmin('user-role', 'add', ADMIN, 'admin')).code).toBe(0);
    await world.reloaded(world.baseConfig, 2);
    const who = await asAdmin('whoami');
    expect(who.stdout).toBe(`[INFO] The server at ${world.server.url} treats you as '${ADMIN}'.\n`);
  });

  it('creates a backup with the exact line, and lists it next to the scheduled one', async () => {
    await adminQuery('CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL)', [], world.db.name);
    await adminQuery(`INSERT INTO docs (title) VALUES ('sbom-1'), ('csaf-1')`, [], world.db.name);
    const created = await asAdmin('database-backup', 'create');
    const m = created.stdout.match(/^\[INFO\] Successfully stored database backup under '(.+)'\.\n$/);
    expect(m, created.stdout + created.stderr).not.toBeNull();
    const path = m![1]!;
    expect(path.startsWith(backups + '/')).toBe(true);
    expect(readdirSync(backups)).toContain(path.slice(backups.length + 1));

    const raw = await asAdmin('-o', 'raw', 'database-backup', 'list');
    const listed = (
      JSON.parse(raw.stdout) as { backups: { file: string; trigger: string; verified: boolean }[] }
    ).backups;
    expect(listed.map((b) => b.trigger)).toEqual(['manual', 'scheduled']);
    expect(listed.every((b) => b.verified)).toBe(true);
    const table = await asAdmin('database-backup', 'list');
    expect(table.stdout).toContain(listed[0]!.file);
    expect(table.stdout).toContain(listed[1]!.file);
  });

  it('refuses a user without the admin role with 403, and writes nothing', async () => {
    expect(
      (await runClient(['-d', world.server.url, 'user', 'request', USER], { XDG_CONFIG_HOME: userHome }))
        .code,
    ).toBe(0);
    expect((await asAdmin('user', 'approve', USER)).code).toBe(0);
    const before = readdirSync(backups).sort();
    const refused = await runClient(['-d', world.server.url, '-u', USER, 'database-backup', 'create'], {
      XDG_CONFIG_HOME: userHome,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[ERROR\] User 'reader@example.com' does not hold the admin role/);
    const code = await runClient(
      ['-d', world.server.url, '-u', USER, '-o', 'code', 'database-backup', 'completely-restore'],
      {
        XDG_CONFIG_HOME: userHome,
      },
    );
    expect(code.stdout).toBe('403');
    expect(readdirSync(backups).sort()).toEqual(before);
  });

  it('restores exactly the data at backup time, after changes', async () => {
    await adminQuery(`INSERT INTO docs (title) VALUES ('added-later')`, [], world.db.name);
    await adminQuery(`DELETE FROM docs WHERE title = 'sbom-1'`, [], world.db.name);
    expect(await docs()).toEqual(['csaf-1', 'added-later']);

    const dry = await asAdmin('database-backup', 'completely-restore', '--dry-run');
    expect(dry.stdout).toMatch(
      /^\[INFO\] Dry run: backup '.+' verifies and would be restored; nothing was changed\.\nIt would be restored from the file: the backup was never rehearsed\.\nThe dump would load as (a temporary role )?'[^']+'.*\nBackup: {3}\S+\.dump\.zst\n/,
    );
    // What it would restore, against the live rows (the backup's are unknown: never rehearsed).
    expect(dry.stdout).toMatch(/\nSigned: {3}ed25519:\S+\n/);
    expect(dry.stdout).toMatch(/\npublic\.docs +\? +2\n/);
    expect(await docs()).toEqual(['csaf-1', 'added-later']);
    // status marks the dry run, so that nobody takes it for a restore that happened
    expect((await asAdmin('database-backup', 'status')).stdout).toMatch(/ restore \(dry run\)\s+succeeded /);

    const restored = await asAdmin('database-backup', 'completely-restore');
    const m = restored.stdout.match(/^\[INFO\] Successfully restored database from backup '(.+)'\.\n$/);
    expect(m, restored.stdout + restored.stderr).not.toBeNull();
    expect(await docs()).toEqual(['sbom-1', 'csaf-1']);

    // the server keeps serving on the restored database, and the admin (in the backup) still is one
    expect((await asAdmin('whoami')).code).toBe(0);
    const audit = readFileSync(join(backups, 'audit.log.jsonl'), 'utf8');
    expect(audit).toMatch(
      /"action":"restore".*"outcome":"succeeded".*admin@example\.com|admin@example\.com.*"action":"restore"/,
    );
  });
});
