// A backup made as one role restores into a database owned by another, non-superuser role, for real: objects end up
// owned by the database's owner, grants to roles that exist are kept, grants to roles that are gone are skipped and
// named in one log line. And the dump's SQL never gets the rights of a superuser db_url: it runs as the owner (SET
// ROLE), COPY ... TO PROGRAM is refused, and lines that would leave that role refuse the dump.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { adminQuery, adminUrl, uniqueDatabaseName } from '../support/pg';
import { craftedDump, escapeVia as escapeVia_, shellFunction } from '../support/shell-dumps';
import {
  beforeCompletionMarker,
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';

const prefix = uniqueDatabaseName('brl');
const role = { a: `${prefix}_a`, b: `${prefix}_b`, c: `${prefix}_c`, gone: `${prefix}_gone` };
const databases: string[] = [];
const worlds: RealRestoreWorld[] = [];
let directory: string;
let file: string;

function urlAs(user: string, database: string): string {
  const url = new URL(adminUrl());
  url.username = user;
  url.pathname = `/${database}`;
  return url.toString();
}

/** A database owned by role B with this build's schema, and the world of a server on it as `user`. */
async function targetAs(user: string): Promise<{ name: string; world: RealRestoreWorld }> {
  const name = `${prefix}_${databases.length}`;
  await adminQuery(`CREATE DATABASE "${name}" OWNER "${role.b}"`);
  databases.push(name);
  const world = createRealContext({ url: urlAs(user, name), directory });
  worlds.push(world);
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE kept (note text)`);
  await world.db.query(`INSERT INTO kept VALUES ('the data before the restore')`);
  return { name, world };
}

async function ownerOf(database: string, table: string): Promise<string | undefined> {
  const { rows } = await adminQuery<{ tableowner: string }>(
    `SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = $1`,
    [table],
    database,
  );
  return rows[0]?.tableowner;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-restore-roles-'));
  await adminQuery(`CREATE ROLE "${role.a}" LOGIN`);
  await adminQuery(`CREATE ROLE "${role.b}" LOGIN CREATEDB`);
  await adminQuery(`CREATE ROLE "${role.c}"`);
  await adminQuery(`CREATE ROLE "${role.gone}"`);
  const source = `${prefix}_src`;
  await adminQuery(`CREATE DATABASE "${source}" OWNER "${role.a}"`);
  databases.push(source);
  // The backup is made by a server whose role is A.
  const world = createRealContext({ url: urlAs(role.a, source), directory });
  worlds.push(world);
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id int PRIMARY KEY, label text)`);
  await world.db.query(`INSERT INTO items VALUES (1, 'made by A'), (2, 'also by A')`);
  await world.db.query(`GRANT SELECT ON items TO "${role.c}"`);
  await world.db.query(`GRANT SELECT, UPDATE ON items TO "${role.gone}"`);
  file = (await makeBackup(world)).file;
  // The role the grant named is gone on the server the backup is restored on.
  await adminQuery(`DROP OWNED BY "${role.gone}"`, [], source);
  await adminQuery(`DROP ROLE "${role.gone}"`);
}, 120_000);

afterAll(async () => {
  for (const world of worlds) await world.close();
  for (const name of databases) {
    const { rows } = await adminQuery<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
      [name, `${name}\\_%`],
    );
    for (const row of rows) await adminQuery(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  }
  for (const name of [role.gone, role.c, role.b, role.a]) await adminQuery(`DROP ROLE IF EXISTS "${name}"`);
  if (directory) await rm(directory, { recursive: true, force: true });
}, 120_000);

describe.each([
  ['the database owner B itself (no superuser)', () => role.b],
  ['a superuser, into a database owned by B', () => new URL(adminUrl()).username],
])('a backup made as role A, restored by %s', (_how, user) => {
  it('objects are owned by B, the grant to C is kept, the grant to a missing role is named once', async () => {
    const { name, world } = await targetAs(user());
    await restoreBackup({ user: 'admin@example.com', file }, world.ctx);
    expect(await ownerOf(name, 'items')).toBe(role.b);
    const { rows } = await adminQuery<{ label: string; c: boolean }>(
      `SELECT label, has_table_privilege($1, 'items', 'SELECT') AS c FROM items ORDER BY id`,
      [role.c],
      name,
    );
    expect(rows).toEqual([
      { label: 'made by A', c: true },
      { label: 'also by A', c: true },
    ]);
    const skipped = world.logs.filter((l) => l.includes('roles this PostgreSQL server does not have'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toContain(role.gone);
    expect(skipped[0]).toContain('WARN');
  }, 120_000);
});

describe('the dump runs as the owner, never as the superuser of db_url (--allow-unsigned)', () => {
  const proof = join(tmpdir(), `bomnipotent-shell-${prefix}`);
  const evil = (sql: string) => () => craftedDump(directory, file, sql);
  const viaFunction = shellFunction(proof);
  const escapeVia = (leave: string) => escapeVia_(proof, leave);
  it.each([
    ['COPY ... TO PROGRAM', `COPY (SELECT 1) TO PROGRAM 'touch ${proof}';`, /COPY other than FROM stdin/],
    [
      'the same from a function',
      `${viaFunction}\nSELECT public.shell();`,
      /permission denied|must be superuser/,
    ],
    ['after RESET ROLE', `RESET ROLE;\n${viaFunction}\nSELECT public.shell();`, /changes the session's role/],
    ['after SET ROLE', `SET ROLE NONE;\nSELECT public.shell();`, /changes the session's role/],
    [
      "after pg_dump's SET SESSION AUTHORIZATION (dropped)",
      `SET SESSION AUTHORIZATION "${new URL(adminUrl()).username}";\n${viaFunction}\nSELECT public.shell();`,
      /permission denied|must be superuser/,
    ],
    ['after set_config', `SELECT set_config('role', 'none', false);`, /set_config/],
    ['in a DO block', `DO $$BEGIN EXECUTE 'RESET ROLE'; END$$;`, /runs code at the top level/],
    // The line refusals cannot see inside a function: there is no superuser session left to return to.
    [
      'RESET ROLE from a function, then COPY ... TO PROGRAM',
      escapeVia(`EXECUTE 'RESET ROLE';`),
      /must be superuser|permission denied/,
    ],
    [
      'SET SESSION AUTHORIZATION from a function',
      escapeVia(`EXECUTE 'SET SESSION AUTHORIZATION "${new URL(adminUrl()).username}"';`),
      /permission denied/,
    ],
    [
      'SET ROLE to the superuser from a function',
      escapeVia(`EXECUTE 'SET ROLE "${new URL(adminUrl()).username}"';`),
      /permission denied/,
    ],
  ])(
    '%s: refused with a clear line, no file made, old data kept',
    async (_how, sql, reason) => {
      const { name, world } = await targetAs(new URL(adminUrl()).username);
      const crafted = await evil(sql)();
      const failed = await restoreBackup(
        { user: 'admin@example.com', file: crafted, allowUnsigned: true },
        world.ctx,
      ).catch((e: unknown) => e as Error);
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toMatch(reason);
      expect((failed as Error).message.split('\n')).toHaveLength(1);
      expect(existsSync(proof)).toBe(false);
      const { rows } = await adminQuery<{ note: string }>(`SELECT note FROM kept`, [], name);
      expect(rows).toEqual([{ note: 'the data before the restore' }]);
      // The temporary role psql logged in as (a member of B) is gone.
      const { rows: left } = await adminQuery(
        `SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
          JOIN pg_roles o ON o.oid = m.roleid WHERE o.rolname = $1 AND r.rolname LIKE 'bomnipotent\\_load\\_%'`,
        [role.b],
      );
      expect(left).toEqual([]);
      await rm(join(directory, crafted), { force: true });
    },
    120_000,
  );
});

describe('the dry run reads the dump as the restore would load it', () => {
  it('names the role it would load as and the roles it lacks, and changes nothing', async () => {
    const { name, world } = await targetAs(role.b);
    const result = await restoreBackup({ user: 'admin@example.com', file, dryRun: true }, world.ctx);
    expect(result.load).toMatchObject({ role: role.b, superuser: false, missingRoles: [role.gone] });
    expect(result.load?.summary).toBe(
      `The dump would load as '${role.b}', not a superuser; its objects would be owned by '${role.b}'; ` +
        `grants to roles this server lacks would be skipped: ${role.gone}.`,
    );
    const { rows } = await adminQuery<{ note: string }>(`SELECT note FROM kept`, [], name);
    expect(rows).toEqual([{ note: 'the data before the restore' }]);
  }, 120_000);

  it('a dump the restore would refuse fails its dry run with the same line', async () => {
    const { world } = await targetAs(new URL(adminUrl()).username);
    const original = await readFile(join(directory, file), 'utf8');
    const crafted = file.replace(/_\d{8}_\d{6}\./, '_20200102_000000.');
    await writeFile(join(directory, crafted), beforeCompletionMarker(original, 'RESET ROLE;'), {
      mode: 0o600,
    });
    try {
      await expect(
        restoreBackup(
          { user: 'admin@example.com', file: crafted, allowUnsigned: true, dryRun: true },
          world.ctx,
        ),
      ).rejects.toThrow(/RESET ROLE.*changes the session's role/);
    } finally {
      await rm(join(directory, crafted), { force: true });
    }
  }, 120_000);
});
