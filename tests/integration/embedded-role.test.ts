// The quick start's embedded PostgreSQL gives the server a role of its own, not the superuser: created at first
// start, and a data directory from before it (the database and its objects owned by the superuser) handed over to it
// at the next start, its data kept.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { freePort } from '../support/free-port';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedDatabase } from '../../runtime/db/embedded';
import { switchWal } from '../../runtime/pitr/preflight';
import { recordingLogger } from '../support/recording-logger';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** IDENTIFY_SYSTEM over a physical replication connection (as pg_receivewal opens): the cluster's system id. */
async function identifySystem(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, replication: true } as pg.ClientConfig);
  await client.connect();
  try {
    const { rows } = await client.query<{ systemid: string }>('IDENTIFY_SYSTEM');
    return String(rows[0]?.systemid);
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bomnipotent-embedded-role-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as the 'postgres' user, which must reach its data directory
  const dataDirectory = join(dir, 'data');
  let stop: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a non-superuser role that owns its database; an older data directory is handed over', async () => {
    const port = await freePort();
    const logger = recordingLogger({ upTo: 'info' });
    const first = await startEmbeddedDatabase({ dataDirectory, port }, logger);
    stop = first.stop;
    expect(new URL(first.url).username).toBe('bomnipotent');
    const [me] = await query<{
      role: string;
      super: boolean;
      createdb: boolean;
      replication: boolean;
      owner: string;
    }>(
      first.url,
      `SELECT current_user AS role, rolsuper AS super, rolcreatedb AS createdb, rolreplication AS replication,
              (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS owner
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(me).toEqual({
      role: 'bomnipotent',
      super: false,
      createdb: true,
      replication: true,
      owner: 'bomnipotent',
    });
    // Continuous protection streams the WAL as this role: a physical replication connection is accepted.
    expect(await identifySystem(first.url)).toMatch(/^\d+$/);
    // ... and closes WAL segments (granted in the maintenance database, so in no dump of its own).
    expect(await switchWal(first.url)).toMatch(/^[0-9A-F]{24}$/);

    // A data directory as an older version left it: everything owned by the superuser.
    const password = readFileSync(`${dataDirectory}.password`, 'utf8').trim();
    const admin = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/bomnipotent`;
    await query(
      admin,
      `ALTER DATABASE bomnipotent OWNER TO postgres; ALTER ROLE bomnipotent NOREPLICATION;
       CREATE TYPE mood AS ENUM ('ok'); CREATE DOMAIN positive AS int CHECK (VALUE > 0);
       CREATE TABLE old_items (id serial PRIMARY KEY, label text, m mood, p positive);
       CREATE SEQUENCE loose_seq; CREATE VIEW old_view AS SELECT * FROM old_items;
       CREATE FUNCTION old_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
       INSERT INTO old_items (label) VALUES ('kept')`,
    );
    await first.stop();
    stop = undefined;

    const second = await startEmbeddedDatabase({ dataDirectory, port }, logger);
    stop = second.stop;
    const owners = await query<{ kind: string; owner: string }>(
      second.url,
      `SELECT 'database' AS kind, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'bomnipotent'
       UNION ALL SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
         WHERE c.relname IN ('old_items', 'old_items_id_seq', 'loose_seq', 'old_view')
       UNION ALL SELECT 'old_fn', pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'old_fn'
       UNION ALL SELECT typname, pg_get_userbyid(typowner) FROM pg_type WHERE typname IN ('mood', 'positive')
       ORDER BY 1`,
    );
    expect(owners.map((o) => `${o.kind}:${o.owner}`)).toEqual(
      [
        'database',
        'loose_seq',
        'mood',
        'old_fn',
        'old_items',
        'old_items_id_seq',
        'old_view',
        'positive',
      ].map((k) => `${k}:bomnipotent`),
    );
    expect(
      await query(second.url, 'SELECT rolreplication FROM pg_roles WHERE rolname = current_user'),
    ).toEqual([{ rolreplication: true }]);
    // The server's role can work with what it was given: write, and alter (what a migration does).
    await query(
      second.url,
      `INSERT INTO old_items (label) VALUES ('new'); ALTER TABLE old_items ADD COLUMN x int`,
    );
    expect(await query(second.url, 'SELECT label FROM old_items ORDER BY id')).toEqual([
      { label: 'kept' },
      { label: 'new' },
    ]);
  }, 240_000);
});
