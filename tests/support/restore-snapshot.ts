// What "the same database" means in the restore tests: schema text, per-table content hashes, sequences, large objects.
// Rows are ordered bytewise (COLLATE "C"): two clusters of different default collations (15 -> 17) hash alike.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface DatabaseSnapshot {
  schema: string;
  tables: Record<string, string>;
  sequences: Record<string, string>;
  largeObjects: Record<string, string>;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** `serverUrl` is any URL of the server (its database part is replaced by `database`). */
export async function snapshotDatabase(serverUrl: string, database: string): Promise<DatabaseSnapshot> {
  const url = withDatabase(serverUrl, database);
  const parsed = new URL(url);
  // Credentials through the environment, never argv; the tests run with trust auth anyway.
  const env = {
    ...process.env,
    PGHOST: parsed.hostname,
    PGPORT: parsed.port || '5432',
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: database,
  };
  const { stdout } = await run('pg_dump', ['--schema-only', '--no-password'], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  // \restrict keys are random per run; everything else must be identical.
  const schema = stdout.replace(/^\\(un)?restrict .*$/gm, '');

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables: Record<string, string> = {};
    const { rows: rels } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       ORDER BY 1`,
    );
    for (const { name } of rels) {
      const { rows } = await client.query<{ h: string | null; n: string }>(
        `SELECT md5(string_agg(t::text, ',' ORDER BY t::text COLLATE "C")) AS h, count(*)::text AS n FROM ${name} t`,
      );
      tables[name] = `${rows[0]?.n}:${rows[0]?.h ?? 'empty'}`;
    }
    const sequences: Record<string, string> = {};
    const { rows: seqs } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, sequencename) AS name FROM pg_sequences ORDER BY 1`,
    );
    for (const { name } of seqs) {
      const { rows } = await client.query<{ v: string }>(
        `SELECT last_value::text || '/' || is_called::text AS v FROM ${name}`,
      );
      sequences[name] = rows[0]?.v ?? '';
    }
    const largeObjects: Record<string, string> = {};
    const { rows: los } = await client.query<{ oid: string; h: string }>(
      `SELECT oid::text, md5(lo_get(oid)) AS h FROM pg_largeobject_metadata ORDER BY oid`,
    );
    for (const { oid, h } of los) largeObjects[oid] = h;
    return { schema, tables, sequences, largeObjects };
  } finally {
    await client.end();
  }
}
