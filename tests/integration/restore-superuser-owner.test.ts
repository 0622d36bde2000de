// A database owned by a superuser, restored by a superuser db_url: the dump still never runs with superuser rights.
// A temporary non-superuser role owns the new copy while psql loads it (and is a member of nothing), then everything
// goes to the owners the dump names (or the database's owner) before the swap. COPY ... TO PROGRAM from a function the
// dump defines is refused by PostgreSQL itself.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { adminQuery, adminUrl, createTestDatabase, type TestDatabase } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { craftedDump, escapeVia, shellFunction } from '../support/shell-dumps';

const superuser = new URL(adminUrl()).username;
let database: TestDatabase;
let directory: string;
let world: RealRestoreWorld;
let file: string;
const proof = join(tmpdir(), `bomnipotent-shell-superuser-owner-${process.pid}`);

/** Load roles this test process made that are still there (the comment names their maker). */
async function leftRoles(): Promise<string[]> {
  const { rows } = await adminQuery<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE rolname LIKE 'bomnipotent\\_load\\_%'
       AND shobj_description(oid, 'pg_authid') LIKE $1`,
    [`%"pid":${process.pid},%`],
  );
  return rows.map((r) => r.rolname);
}

beforeAll(async () => {
  database = await createTestDatabase('bso');
  directory = await mkdtemp(join(tmpdir(), 'bomnipotent-superuser-owner-'));
  const { rows } = await adminQuery<{ super: boolean }>(
    `SELECT r.rolsuper AS super FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1`,
    [database.name],
  );
  expect(rows[0]?.super).toBe(true); // the case under test: a superuser owns the server's database
  world = createRealContext({ url: database.url, directory });
  await migrateToLatest(world);
  await world.db.query(`CREATE TABLE items (id int PRIMARY KEY, label text)`);
  await world.db.query(`INSERT INTO items VALUES (1, 'in the backup')`);
  file = (await makeBackup(world)).file;
  await world.db.query(`CREATE TABLE kept (note text)`);
  await world.db.query(`INSERT INTO kept VALUES ('the data before the restore')`);
}, 120_000);

afterAll(async () => {
  await world?.close();
  await database?.drop();
  await rm(directory, { recursive: true, force: true });
  await rm(proof, { force: true });
});

const crafted = (sql: string) => craftedDump(directory, file, sql);
const viaFunction = shellFunction(proof);
const escape = (leave: string) => escapeVia(proof, leave);

describe('a superuser-owned database restored by a superuser db_url', () => {
  it.each([
    ['COPY ... TO PROGRAM from a function', `${viaFunction}\nSELECT public.shell();`],
    [
      'the same after the dump gives the function to the superuser',
      `${viaFunction}\nALTER FUNCTION public.shell() OWNER TO "${superuser}";\nSELECT public.shell();`,
    ],
    ['RESET ROLE from a function, then COPY ... TO PROGRAM', escape(`EXECUTE 'RESET ROLE';`)],
    [
      'SET SESSION AUTHORIZATION from a function',
      escape(`EXECUTE 'SET SESSION AUTHORIZATION "${superuser}"';`),
    ],
    ['SET ROLE to the superuser from a function', escape(`EXECUTE 'SET ROLE "${superuser}"';`)],
  ])(
    '%s: refused by PostgreSQL, no file made, old data kept, no role left',
    async (_how, sql) => {
      const name = await crafted(sql);
      const failed = await restoreBackup(
        { user: 'admin@example.com', file: name, allowUnsigned: true },
        world.ctx,
      ).catch((e: unknown) => e as Error);
      await rm(join(directory, name), { force: true });
      expect(failed).toBeInstanceOf(Error);
      expect((failed as Error).message).toMatch(/must be superuser|permission denied/);
      expect(existsSync(proof)).toBe(false);
      const { rows } = await adminQuery<{ note: string }>(`SELECT note FROM kept`, [], database.name);
      expect(rows).toEqual([{ note: 'the data before the restore' }]);
      expect(await leftRoles()).toEqual([]);
    },
    120_000,
  );

  it('a signed backup comes back whole, owned as before, and the dry run names the temporary role', async () => {
    const dry = await restoreBackup({ user: 'admin@example.com', file, dryRun: true }, world.ctx);
    expect(dry.load).toMatchObject({ superuser: false, handOverTo: superuser });
    expect(dry.load?.summary).toContain(`then everything goes to the database's owner '${superuser}'`);
    await restoreBackup({ user: 'admin@example.com', file }, world.ctx);
    const { rows } = await adminQuery<{ label: string; owner: string }>(
      `SELECT label, (SELECT tableowner FROM pg_tables WHERE tablename = 'items') AS owner FROM items`,
      [],
      database.name,
    );
    expect(rows).toEqual([{ label: 'in the backup', owner: superuser }]);
    const { rows: dbOwner } = await adminQuery<{ owner: string }>(
      `SELECT r.rolname AS owner FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1`,
      [database.name],
    );
    expect(dbOwner).toEqual([{ owner: superuser }]);
    // The hand-over's comment (bomnipotent hand-over <xid>) served the copy's checks; the swapped-in database has none.
    const { rows: comment } = await adminQuery<{ d: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS d FROM pg_database WHERE datname = $1`,
      [database.name],
    );
    expect(comment).toEqual([{ d: null }]);
    expect(await leftRoles()).toEqual([]);
  }, 120_000);
});
