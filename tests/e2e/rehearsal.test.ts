// Rehearsals as an administrator meets them: a server with `rehearse = true`, real client processes, real
// PostgreSQL. Every backup is rehearsed in the background, `list` and `/metrics` show it, `rehearse` runs one by
// hand, and `completely-restore` swaps the rehearsed standby in (its dry run says so first).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery } from '../support/pg';
import { makeUnloadable } from '../support/unloadable-schema';
import { startE2eWorld, type E2eWorld } from '../support/e2e-world';

describe('rehearsals through the server and the client', () => {
  let world: E2eWorld;
  const asAdmin = (...args: string[]) => world.asAdmin(...args);
  const titles = () => world.titles();

  beforeAll(async () => {
    // The scheduled run at start, then its rehearsal in the background.
    world = await startE2eWorld({
      prefix: 'rh',
      task: 'rehearse = true\n',
      ready: { line: /Rehearsal of backup '[^']+' passed/, timeoutMs: 60_000 },
    });
    await world.bootstrapAdmin();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('rehearses a new backup in the background; list shows it and the standby, metrics export it', async () => {
    await adminQuery('CREATE TABLE docs (id serial PRIMARY KEY, title text NOT NULL)', [], world.db.name);
    await adminQuery(`INSERT INTO docs (title) VALUES ('sbom-1'), ('csaf-1')`, [], world.db.name);
    const created = await asAdmin('-o', 'raw', 'database-backup', 'create');
    const { file } = JSON.parse(created.stdout) as { file: string };
    await world.server.waitFor(new RegExp(`Rehearsal of backup '${file}' passed`), 60_000);

    const raw = JSON.parse((await asAdmin('-o', 'raw', 'database-backup', 'list')).stdout) as {
      backups: { file: string; rehearsal: { state: string } | null }[];
    };
    expect(raw.backups.find((b) => b.file === file)?.rehearsal).toMatchObject({ state: 'passed' });
    const table = (await asAdmin('database-backup', 'list')).stdout;
    expect(table).toContain('REHEARSED');
    expect(table).toMatch(
      new RegExp(`Standby database '${world.db.name}_standby' \\([\\d.]+ [KMG]?B, one more copy`),
    );

    const metrics = await (await fetch(`${world.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^bomnipotent_backup_last_rehearsal_success_timestamp_seconds \d+/m);
    expect(metrics).toContain('bomnipotent_backup_rehearsal_failures_total 0');
  });

  it('rehearse runs one by hand; completely-restore swaps the standby in, after a dry run that says so', async () => {
    const rehearsed = await asAdmin('database-backup', 'rehearse');
    expect(rehearsed.stdout).toMatch(
      new RegExp(
        `^\\[INFO\\] Rehearsal of '.+' passed: \\d+ tables, \\d+ rows restored in [\\d.]+ s\\. The standby database '${world.db.name}_standby' holds it`,
      ),
    );
    await adminQuery(`INSERT INTO docs (title) VALUES ('added-later')`, [], world.db.name);

    const dry = await asAdmin('database-backup', 'completely-restore', '--dry-run');
    expect(dry.stdout).toContain('It would be restored from the rehearsed standby database:');

    const restored = await asAdmin('database-backup', 'completely-restore');
    expect(restored.stdout).toMatch(/^\[INFO\] Successfully restored database from backup '.+'\.\n/);
    expect(restored.stdout).toContain('Restored from the rehearsed standby database:');
    expect(await titles()).toEqual(['sbom-1', 'csaf-1']);
    expect((await asAdmin('whoami')).code).toBe(0);
    // The standby became the database: a background rehearsal rebuilds it.
    await world.server.waitFor(
      /Rehearsal of backup '[^']+' passed[\s\S]*Restored database[\s\S]*Rehearsal of backup '[^']+' passed/,
      60_000,
    );
  });

  it('create --wait-rehearsal: silent after the success line when it passes, a [WARN] with the reason when it fails', async () => {
    const passed = await asAdmin('database-backup', 'create', '--wait-rehearsal');
    expect(passed.code, passed.stderr).toBe(0);
    expect(passed.stdout).toMatch(/^\[INFO\] Successfully stored database backup under '.+'\.\n$/);
    expect(passed.stderr).not.toContain('[WARN]');

    await makeUnloadable(world.db.name); // verifies, does not load
    const failed = await asAdmin('database-backup', 'create', '--wait-rehearsal');
    expect(failed.code, failed.stderr).toBe(0); // the backup exists and verifies: the exit code stays 0
    const path = /^\[INFO\] Successfully stored database backup under '(.+)'\.\n$/.exec(failed.stdout)?.[1];
    expect(path).toBeDefined();
    expect(failed.stderr).toMatch(
      /^\[WARN\] The rehearsal of this backup failed: .*violates check constraint "a_uses_ref_check"/m,
    );
    expect(world.server.output()).toContain(
      `Rehearsal of backup '${path!.slice(path!.lastIndexOf('/') + 1)}' FAILED`,
    );
    await adminQuery(
      'DROP TABLE a_uses; DROP FUNCTION public.ref_exists(int); DROP TABLE z_refs',
      [],
      world.db.name,
    );
  });
});
