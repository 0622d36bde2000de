// A copy (the rehearsal's scratch database, the standby) opened by this server alone: connections refused, every
// other session ended, and its content digest read through that one session. The digest covers what a writer can
// change and autovacuum cannot: per table, each live row's ctid, xmin, xmax and text, and each sequence's state.
// Statistics (reset by pg_stat_reset() or a crash restart) and sizes play no part.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { quoteIdent, refuseProtected, urlForDatabase, type AdminConnection } from './sql';
import { HAND_OVER_COMMENT } from '../../executor/load-login';

const USER_RELATIONS = `SELECT c.oid::regclass::text AS name, c.relkind::text AS kind
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  ORDER BY 1`;

/** The row part: md5 of "ctid xmin xmax row", summed in two 60-bit halves (order-free: a seq scan may start midway). */
const ROW_SUMS = (relation: string, sequence: boolean) => `SELECT count(*)::text AS n,
       coalesce(min(xmin::text::bigint), 0)::text AS lo, coalesce(max(xmin::text::bigint), 0)::text AS hi,
       coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0)::text AS s1,
       coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0)::text AS s2
  FROM (SELECT xmin, md5(ctid::text || ' ' || xmin::text || ' ' || xmax::text || ' ' || ${sequence ? 'ROW(t.last_value, t.is_called)' : 't'}::text) AS h
          FROM ${sequence ? '' : 'ONLY '}${relation} t) x`;

interface RelationSums {
  name: string;
  n: string;
  lo: string;
  hi: string;
  s1: string;
  s2: string;
}

/**
 * Connects to `name` and shuts it to everyone else: ALLOW_CONNECTIONS false, then every other session ended (a
 * session this role may not end fails the call). `open` first lets connections in for this one session (the standby
 * refuses them while it waits). The caller ends the client; the database keeps refusing connections.
 */
export async function openSealed(
  conn: AdminConnection,
  name: string,
  options: { open: boolean },
): Promise<pg.Client> {
  refuseProtected(name);
  if (options.open) await conn.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS true`);
  const client = new pg.Client({
    connectionString: urlForDatabase(conn.url, name),
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await conn.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const own = rows[0]?.pid ?? 0;
    const ended = await conn.query<{ ended: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE datname = $1 AND pid <> $2 AND usesysid IS NOT NULL`,
      [name, own],
    );
    if (ended.rows.some((r) => !r.ended)) throw new Error(`another session on '${name}' could not be ended`);
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
}

/** The content digest ("sha256:<hex>") of the database the client is connected to, with the per-table row sums. */
export async function contentDigest(
  client: pg.Client,
): Promise<{ digest: string; relations: RelationSums[] }> {
  const { rows } = await client.query<{ name: string; kind: string }>(USER_RELATIONS);
  const relations: RelationSums[] = [];
  for (const { name, kind } of rows) {
    // A sequence's one row changes with nextval() even outside a transaction; log_cnt aside (WAL bookkeeping).
    const sums = await client.query<Omit<RelationSums, 'name'>>(ROW_SUMS(name, kind === 'S'));
    const row = sums.rows[0];
    if (row) relations.push({ name: `${kind} ${name}`, ...row });
  }
  const hash = createHash('sha256');
  for (const r of relations) hash.update(`${r.name}\n${r.n} ${r.s1} ${r.s2}\n`);
  return { digest: `sha256:${hash.digest('hex')}`, relations };
}

/**
 * After a single-transaction load: what in the copy was written by anyone but the loader, or null. The loader's
 * transaction is the one that created the tables (their pg_class rows); every row of every table must carry it, and
 * no catalog row of this database (statistics aside) may be newer: an UPDATE, INSERT, new function or trigger after
 * the load's commit shows here.
 */
export async function foreignWrites(client: pg.Client, relations: RelationSums[]): Promise<string | null> {
  const handOver = await handOverXid(client);
  const loaders = await client.query<{ x: string }>(
    `SELECT DISTINCT c.xmin::text AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND c.xmin::text <> $1`,
    [handOver ?? ''],
  );
  const filled = relations.find((r) => r.name.startsWith('r ') && r.n !== '0');
  if (loaders.rows.length > 1) return 'its tables were created or altered by more than one transaction';
  // After a hand-over every table's catalog row is the hand-over's: the load is the one its rows carry.
  const loader = loaders.rows[0]?.x ?? (handOver === null ? undefined : (filled?.lo ?? handOver));
  if (loader === undefined) return null;
  const rewritten = relations.filter(
    (r) => r.name.startsWith('r ') && r.n !== '0' && (r.lo !== loader || r.hi !== loader),
  );
  if (rewritten.length > 0)
    return `rows of ${rewritten.map((r) => r.name.slice(2)).join(', ')} were written after the load`;
  const catalogs = await client.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_class c
      WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared
        AND c.relname NOT IN ('pg_statistic', 'pg_statistic_ext_data') ORDER BY 1`,
  );
  const newer = catalogs.rows
    .map(
      (c) =>
        `SELECT '${c.name}' AS name FROM ${c.name} WHERE age(xmin) < age($1::xid) AND xmin::text <> $2 HAVING count(*) > 0`,
    )
    .join(' UNION ALL ');
  const found = await client.query<{ name: string }>(newer, [loader, handOver ?? '']);
  if (found.rows.length > 0)
    return `its schema was changed after the load (${found.rows.map((r) => r.name).join(', ')})`;
  return null;
}

/**
 * The transaction that handed a temporary role's copy to its owners (runtime/executor/load-login.ts), or null: the
 * database's comment names it and was written by it. Only a superuser (the copy's owner since) could write it later.
 */
async function handOverXid(client: pg.Client): Promise<string | null> {
  const { rows } = await client.query<{ x: string; d: string }>(
    `SELECT s.xmin::text AS x, s.description AS d FROM pg_shdescription s JOIN pg_database db ON db.oid = s.objoid
      WHERE s.classoid = 'pg_database'::regclass AND db.datname = current_database()`,
  );
  const row = rows[0];
  return row && row.d === `${HAND_OVER_COMMENT}${row.x}` ? row.x : null;
}
