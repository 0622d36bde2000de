// Backup + complete restore reproduces a database exactly: pagila, and a schema of what logical dumps tend to get wrong,
// the latter owned by a role that may create databases but is not a superuser; with the in-process executor and
// through the executor sidecar process (tests/support/executors.ts).
import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { restoreBackup } from '../../handlers/backup/restore-backup';
import { executorKinds, type ExecutorKind } from '../support/executors';
import { adminQuery, adminUrl, uniqueDatabaseName, urlFor } from '../support/pg';
import {
  createRealContext,
  makeBackup,
  migrateToLatest,
  type RealRestoreWorld,
} from '../support/restore-real';
import { snapshotDatabase } from '../support/restore-snapshot';

const run = promisify(execFile);
const PAGILA = '/work/shared/fixtures/pagila';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bomnipotent-fidelity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the executor of `kind` for the database at `url` and the directory, and a real context using it. */
async function worldWith(kind: ExecutorKind, url: string, directory: string): Promise<RealRestoreWorld> {
  const under = await kind.start({ dbUrl: url, directory });
  cleanups.push(() => under.close());
  const world = createRealContext({ url, directory, executor: under.executor });
  cleanups.push(() => world.close());
  return world;
}

/** Drops the database and anything derived from its name (scratch and renamed-aside copies). */
async function dropWithCopies(name: string): Promise<void> {
  const { rows } = await adminQuery<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname = $1 OR datname LIKE $2`,
    [name, `${name}\\_%`],
  );
  for (const row of rows) await adminQuery(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
}

// Pagila is loaded once, into a template; each executor's test restores a copy of its own.
let pagilaTemplate: string | undefined;
beforeAll(async () => {
  const { rows } = await adminQuery(`SELECT 1 FROM pg_roles WHERE rolname = 'postgres'`);
  if (rows.length === 0) await adminQuery(`CREATE ROLE postgres`); // pagila names it as the owner
  const name = uniqueDatabaseName('bfpt');
  await adminQuery(`CREATE DATABASE "${name}"`);
  pagilaTemplate = name;
  const url = new URL(urlFor(name));
  const env = {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: url.username,
    PGDATABASE: name,
  };
  for (const file of ['pagila-schema.sql', 'pagila-schema-jsonb.sql', 'pagila-data.sql']) {
    await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(PAGILA, file)], {
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  }
});

afterAll(async () => {
  if (pagilaTemplate) await dropWithCopies(pagilaTemplate);
});

/** Backup, damage the live database, restore, and compare with the state at backup time. */
async function roundTrip(world: RealRestoreWorld, url: string, damage: string): Promise<void> {
  const database = world.admin.databaseName;
  await migrateToLatest(world); // so the restore's forward migration has nothing to add
  const before = await snapshotDatabase(url, database);
  await makeBackup(world);
  await world.db.query(damage);
  expect(await snapshotDatabase(url, database)).not.toEqual(before);
  await restoreBackup({ user: 'fidelity@example.com' }, world.ctx);
  const after = await snapshotDatabase(url, database);
  expect(after.schema).toBe(before.schema);
  expect(after.tables).toEqual(before.tables);
  expect(after.sequences).toEqual(before.sequences);
  expect(after.largeObjects).toEqual(before.largeObjects);
}

describe.each(executorKinds)('restore fidelity ($name executor)', (kind) => {
  it('pagila comes back exactly: schema, every table, every sequence', async () => {
    const name = uniqueDatabaseName('bfp');
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${pagilaTemplate}"`);
    cleanups.push(() => dropWithCopies(name));
    const url = urlFor(name);
    const world = await worldWith(kind, url, await tempDirectory());
    await roundTrip(
      world,
      url,
      `DELETE FROM payment WHERE payment_id % 3 = 0; UPDATE film SET title = lower(title); DROP TABLE film_category CASCADE;
       SELECT setval('actor_actor_id_seq', 9999)`,
    );
    const counts = await world.db.query<{ n: string }>('SELECT count(*)::text AS n FROM rental');
    expect(Number(counts.rows[0]?.n)).toBeGreaterThan(10_000);
  });

  it('extensions, enums, domains, partitions, generated columns, every byte, NULL vs empty, non-ASCII names, large objects, sequences', async () => {
    // A role that owns its database and may create databases, but is no superuser: what the README asks for.
    const role = uniqueDatabaseName('bfr');
    const name = uniqueDatabaseName('bfo');
    await adminQuery(`CREATE ROLE "${role}" LOGIN CREATEDB NOSUPERUSER`);
    await adminQuery(`CREATE DATABASE "${name}" OWNER "${role}"`);
    cleanups.push(async () => {
      await dropWithCopies(name);
      await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
    });
    const url = new URL(adminUrl());
    url.username = role;
    url.password = '';
    url.pathname = `/${name}`;
    const world = await worldWith(kind, url.toString(), await tempDirectory());
    await world.db.query(OWN_SCHEMA);
    await roundTrip(
      world,
      url.toString(),
      `DELETE FROM bytes; UPDATE people SET note = 'changed'; DROP TABLE "größe"; SELECT setval('counter', 1);
       SELECT lo_unlink(oid) FROM pg_largeobject_metadata; INSERT INTO measurements (taken, value, mood) VALUES ('2025-07-07', 9, 'ok')`,
    );
    const bytes = await world.db.query<{ n: string }>(
      `SELECT count(DISTINCT b)::text AS n FROM bytes WHERE length(b) = 1`,
    );
    expect(bytes.rows[0]?.n).toBe('256');
  });
});

const OWN_SCHEMA = `
CREATE EXTENSION pgcrypto;
CREATE EXTENSION citext;
CREATE EXTENSION hstore;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE TABLE measurements (
  id bigserial, taken date NOT NULL, value positive_int, mood mood, PRIMARY KEY (id, taken)
) PARTITION BY RANGE (taken);
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO measurements (taken, value, mood) VALUES ('2025-05-01', 1, 'sad'), ('2026-02-02', 2, 'happy'), ('2026-03-03', 3, NULL);
CREATE TABLE people (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email citext UNIQUE,
  attrs hstore,
  token bytea DEFAULT gen_random_bytes(8),
  digest text,
  width numeric, height numeric,
  area numeric GENERATED ALWAYS AS (width * height) STORED,
  note text
);
INSERT INTO people (email, attrs, digest, width, height, note) VALUES
  ('A@Example.com', 'a=>1, "b c"=>NULL', encode(digest('x', 'sha256'), 'hex'), 2, 3, NULL),
  ('b@example.com', '', crypt('pw', gen_salt('bf', 4)), 1.5, 2, ''),
  ('c@example.com', NULL, NULL, NULL, NULL, E'tab\\there\\nnew line, quotes '' " and \\\\ backslash, ünïcödé 🙂');
CREATE TABLE bytes (b bytea);
INSERT INTO bytes SELECT set_byte('\\x00'::bytea, 0, g) FROM generate_series(0, 255) g;
INSERT INTO bytes SELECT decode(string_agg(lpad(to_hex(g), 2, '0'), '' ORDER BY g), 'hex') FROM generate_series(0, 255) g;
INSERT INTO bytes VALUES (''), (NULL);
CREATE TABLE "größe" ("データ" text, "größe" integer, "Mixed Case" text);
INSERT INTO "größe" VALUES ('値', 1, 'x'), (NULL, NULL, NULL), ('', 0, '');
CREATE SEQUENCE counter START 10;
SELECT setval('counter', 42, true);
CREATE SEQUENCE fresh;
SELECT setval('fresh', 5, false);
SELECT lo_from_bytea(0, '\\xdeadbeef00ff'::bytea);
SELECT lo_from_bytea(0, decode(repeat('00ff7f80', 50000), 'hex'));
CREATE VIEW people_emails AS SELECT email FROM people;
CREATE MATERIALIZED VIEW people_count AS SELECT count(*) AS n FROM people;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.note := coalesce(NEW.note, '') || '!'; RETURN NEW; END $$;
CREATE TRIGGER people_touch BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION touch();
COMMENT ON TABLE people IS 'Kommentar mit Ümlaut';
`;
