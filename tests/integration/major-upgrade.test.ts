// The upgrade path users take through a backup: a backup made by the product on PostgreSQL 15 (with pg_dump 15),
// restored by the product into PostgreSQL 17, gives identical table contents; and a backup of 17 is refused by a 15
// server up front. Three steps on two servers, run by `npm run test:pg17` (scripts/test-pg17.sh), which carries the
// folder MAJOR_UPGRADE_DIR between them: `backup` on the host's 15, `restore` in the container's 17, `refuse` on the
// host again. Without MAJOR_UPGRADE_STEP (a plain `npm test`) there is nothing to do here.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { majorOf } from '../../handlers/backup/server-major';
import { rehearseBackup } from '../../handlers/backup/rehearse-backup';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { adminQuery, adminUrl, urlFor } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase, type DatabaseSnapshot } from '../support/restore-snapshot';
import { rejection } from '../support/rejection';

const STEP = process.env.MAJOR_UPGRADE_STEP;
const DIR = process.env.MAJOR_UPGRADE_DIR ?? '';
const FROM_OLD = join(DIR, 'from-old');
const FROM_NEW = join(DIR, 'from-new');
const STATE = join(DIR, 'state.json');
const ADMIN = 'admin@example.com';

interface State {
  database: string;
  /** The role that owned everything on the older server (the dump's `OWNER TO`). */
  owner: string;
  oldVersion: string;
  oldBackup: string;
  oldContents: Contents;
  newVersion?: string;
  newBackup?: string;
}
type Contents = Omit<DatabaseSnapshot, 'schema'>;

/** What must survive the upgrade: every table's rows, the sequences, the large objects (not pg_dump's own text). */
async function contents(database: string): Promise<Contents> {
  const { tables, sequences, largeObjects } = await snapshotDatabase(adminUrl(), database);
  return { tables, sequences, largeObjects };
}

// What logical dumps across majors could get wrong: many types, TOAST-sized values, an enum, a generated column, a
// partitioned table, identity and serial sequences, a large object; and the product's own tables (migrated).
const SEED = `
CREATE SCHEMA shop;
CREATE TYPE shop.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE shop.items (
  id bigserial PRIMARY KEY, label text NOT NULL, price numeric(12, 2), total numeric GENERATED ALWAYS AS (price * 2) STORED,
  bought timestamptz, day date, tags text[], doc jsonb, raw bytea, mood shop.mood, ratio double precision, uid uuid,
  span int4range, at_time time, ip inet);
INSERT INTO shop.items (label, price, bought, day, tags, doc, raw, mood, ratio, uid, span, at_time, ip)
SELECT 'item ' || g || E' \\u00e9\\t"q"', g * 1.25, timestamptz '2024-01-01 00:00+00' + g * interval '61 seconds',
  date '2020-01-01' + g, ARRAY['a' || g, NULL, 'c'], jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'x', null)),
  decode(md5(g::text), 'hex'), (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::shop.mood, g / 7.0::float8,
  md5(g::text)::uuid, int4range(g, g + 10), time '00:00' + g * interval '1 second', ('10.0.' || g % 256 || '.1')::inet
FROM generate_series(1, 20000) g;
CREATE TABLE shop.pages (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
INSERT INTO shop.pages (body) SELECT repeat(md5(g::text), 20000) FROM generate_series(1, 8) g;
CREATE TABLE shop.events (at date NOT NULL, n int) PARTITION BY RANGE (at);
CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE shop.events_2025 PARTITION OF shop.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO shop.events SELECT date '2024-01-01' + g % 700, g FROM generate_series(1, 5000) g;
SELECT lo_from_bytea(0, convert_to(repeat('large object ', 1000), 'UTF8'));
`;

const worlds: RealRestoreWorld[] = [];
afterEach(async () => {
  for (const world of worlds.splice(0)) await world.close();
});

function worldOn(database: string, directory: string): RealRestoreWorld {
  const world = createRealContext({ url: urlFor(database), directory });
  worlds.push(world);
  return world;
}

async function serverVersion(): Promise<string> {
  const { rows } = await adminQuery<{ v: string }>(`SELECT current_setting('server_version') AS v`);
  return rows[0]!.v.split(' ')[0]!;
}

async function dropDatabase(name: string): Promise<void> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
    [name, `${name}\\_%`],
  );
  for (const row of rows) await adminQuery(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
}

const readState = async (): Promise<State> => JSON.parse(await readFile(STATE, 'utf8')) as State;
const writeState = (state: State) => writeFile(STATE, JSON.stringify(state, null, 2));

describe.runIf(STEP === 'backup')('upgrade path, step 1: a backup on the older server', () => {
  it('backs up a database of many types with the older major’s pg_dump', async () => {
    const database = `major_upgrade_${process.pid}_${Date.now().toString(36)}`;
    await adminQuery(`CREATE DATABASE "${database}"`);
    try {
      await mkdir(FROM_OLD, { recursive: true });
      const world = worldOn(database, FROM_OLD);
      await migrateToLatest(world);
      await world.db.query(SEED);
      const oldContents = await contents(database);
      const backup = await makeBackup(world);
      expect(majorOf(backup.serverVersion)).toBe(majorOf(await serverVersion()));
      const { rows } = await adminQuery<{ owner: string }>(`SELECT current_user AS owner`);
      await writeState({
        database,
        owner: rows[0]!.owner,
        oldVersion: await serverVersion(),
        oldBackup: backup.file,
        oldContents,
      });
    } finally {
      await dropDatabase(database);
    }
  });
});

describe.runIf(STEP === 'restore')('upgrade path, step 2: the restore into the newer server', () => {
  it('restores the older major’s backup with identical table contents, then backs the result up', async () => {
    const state = await readState();
    const newVersion = await serverVersion();
    expect(majorOf(newVersion)!).toBeGreaterThan(majorOf(state.oldVersion)!);
    // The new server has the old one's role, as after an upgrade by hand (a restore onto another role is issue 19
    // item 4's business, not this test's): created here when missing, dropped at the end.
    const { rowCount } = await adminQuery(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [state.owner]);
    if (rowCount === 0) await adminQuery(`CREATE ROLE "${state.owner}"`);
    await adminQuery(`CREATE DATABASE "${state.database}"`);
    try {
      const world = worldOn(state.database, FROM_OLD);
      const restored = await restoreBackup({ user: ADMIN, file: state.oldBackup }, world.ctx);
      expect(restored.metadata.file).toBe(state.oldBackup);
      expect(restored.metadata.serverVersion).toBe(state.oldVersion);
      const now = await contents(state.database);
      expect(now.tables['shop.items']).toMatch(/^20000:/);
      expect(now).toEqual(state.oldContents);

      await mkdir(FROM_NEW, { recursive: true });
      const again = worldOn(state.database, FROM_NEW);
      const backup = await makeBackup(again);
      expect(backup.serverVersion).toBe(newVersion);
      await writeState({ ...state, newVersion, newBackup: backup.file });
    } finally {
      await dropDatabase(state.database);
      if (rowCount === 0) await adminQuery(`DROP ROLE "${state.owner}"`);
    }
  });
});

describe.runIf(STEP === 'refuse')(
  'upgrade path, step 3: the newer major’s backup on the older server',
  () => {
    it('is refused up front with one clear line, and nothing changes', async () => {
      const state = await readState();
      const file = state.newBackup!;
      await adminQuery(`CREATE DATABASE "${state.database}"`);
      try {
        const world = worldOn(state.database, FROM_NEW);
        await world.db.query(`CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)`);
        const before = await snapshotDatabase(adminUrl(), state.database);
        const here = await serverVersion();
        for (const dryRun of [true, false]) {
          const refused = await rejection(restoreBackup({ user: ADMIN, file, dryRun }, world.ctx));
          expect(refused.code).toBe('BACKUP.NEWER_MAJOR');
          expect(refused.message).toBe(
            `The backup '${file}' was taken from PostgreSQL ${state.newVersion}, a newer major than this server's PostgreSQL ${here}: a dump does not load into an older major.`,
          );
          expect(refused.suggestion).toContain(
            `Restore it into a PostgreSQL ${majorOf(state.newVersion)} (or newer) server`,
          );
        }
        expect((await rejection(rehearseBackup({ user: null }, world.ctx))).code).toBe('BACKUP.NEWER_MAJOR');
        expect(await snapshotDatabase(adminUrl(), state.database)).toEqual(before);
        const { rows } = await adminQuery(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
          `${state.database}\\_%`,
        ]);
        expect(rows).toEqual([]);
      } finally {
        await dropDatabase(state.database);
      }
    });
  },
);
